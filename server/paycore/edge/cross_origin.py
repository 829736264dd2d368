"""Cross-origin calls to the API (`/v1/...`) from a browser, as Stripe's API allows them: a
merchant's own page tokenizes a card with its publishable key (POST /v1/payment_methods) and
confirms with the intent's client secret, from the merchant's origin, not paycore's.

Every origin is allowed and no credentials are: a call authenticates with the key in its
`Authorization` header, never with a cookie, so a page of another origin can do nothing a
script holding no key could not. The dashboard's pages (cookie sessions) and the hosted
checkout page get none of this: they are paycore's own origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

API_PREFIX = "/v1/"
ALLOWED_METHODS = "GET, HEAD, POST, DELETE"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, Stripe-Version, Paycore-Merchant"
EXPOSED_HEADERS = "Request-Id, Idempotent-Replayed, Retry-After"
PREFLIGHT_MAX_AGE_SECONDS = 300
"""How long a browser may keep a preflight's answer (Stripe's figure)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def cross_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A browser's preflight (OPTIONS with Origin and Access-Control-Request-Method) of an API
    path answers 204 with what may be sent; every answer of an API path allows any origin to
    read it. Other paths, and an OPTIONS that is no preflight, are left to their handlers."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    if _is_preflight(request):
        return web.Response(status=204, headers=_PREFLIGHT_HEADERS)
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        answer.headers.update(_ANSWER_HEADERS)
        raise
    response.headers.update(_ANSWER_HEADERS)
    return response


def _is_preflight(request: web.Request) -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


_ANSWER_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSED_HEADERS,
}
_PREFLIGHT_HEADERS = {
    **_ANSWER_HEADERS,
    "Access-Control-Allow-Methods": ALLOWED_METHODS,
    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
}
