"""The hosted payment page of a checkout session (issue 21): GET /c/pay/<cs_id>/<secret>, the
session's `url`.

The edge reads the session with GetCheckoutPage (an internal method: the page's visitor holds
no key, so the edge calls it with PAYCORE_INTERNAL_TOKEN, or the admin token) and renders the
card form. The form's script (static/checkout.js) sends the card only to paycore's tokenization
route (POST /v1/payment_methods with the merchant's hosted-page publishable key), then confirms
the session's payment intent with its client_secret (POST /v1/payment_intents/<id>/confirm),
shows a decline inline, and sends the buyer to the success URL. A card that must authenticate
(3-D Secure) answers requires_action: the script sends the buyer to next_action's page, whose
return_url is this page; paycore's return (paycore.edge.returns) finishes the intent before the
buyer is back here, paid (this page then sends them to the success URL) or declined (the
decline told under the form); back here with the intent still requires_action (the return
could not reach paycore), the script confirms it again (the charge goes on with the
authentication) before anything else. The page never
sees a card number: its inputs have no names, so a form submitted without the script sends
nothing.

Session ids are guessable (a clock, a shard, a sequence), so the page opens only with the
secret its url carries (paycore.checkout.page_secrets), which GetCheckoutPage checks: the id
alone, a wrong secret and an unknown session are the same 404 page.

The edge's credential is not rate-limited, so the edge forwards the visitor's address and the
server limits GetCheckoutPage per address (its policy's `per_client_address`, in the
`payments` class of PAYCORE_RATE_LIMITS): over it the page answers 429 with Retry-After."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from grpc import StatusCode, aio
from jinja2 import Environment
from paycore.edge.checkout_texts import page_language
from paycore.edge.errors import from_rpc_error
from paycore.edge.web import page
from paycore.runtime.interceptors.headers import FORWARDED_FOR_HEADER
from paycore.stripe_json import stripe_json
from paycore.v1 import checkout_pb2, checkout_pb2_grpc

PAGE_ROUTE = "/c/pay/{session_id}/{secret:.*}"
BARE_PAGE_ROUTE = "/c/pay/{session_id}"
"""A session's id without the page's secret: the 404 page, as for an unknown session."""
CALL_TIMEOUT_SECONDS = 10.0
_SESSION_ID = re.compile(r"cs_[0-9A-Za-z]{22}")
_SECRET = re.compile(r"[0-9A-Za-z]{1,64}")
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
MISSING = "Check the link you were given, or ask the seller for a new one."
UNAVAILABLE = "paycore cannot take payments at the moment. Nothing was charged: try again soon."
TOO_MANY = "This page was asked for too often from your network. Wait a moment, then reload it."

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PageCalls:
    """What a hosted page (the checkout page, the way back from 3-D Secure) needs to call the
    server: the pages' operator credential (none: every page is the 404 page), the visitor's
    address, forwarded for the server's per-address limit (as the API's calls), and the
    templates of its message pages."""

    token: str
    templates: Environment
    client_address: Callable[[web.Request], str]

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def metadata(self, request: web.Request) -> tuple[tuple[str, str], ...]:
        client = self.client_address(request)
        visitor = ((FORWARDED_FOR_HEADER, client),) if client else ()
        return (("authorization", f"Bearer {self.token}"), *visitor)

    def message(self, status: int, heading: str, text: str) -> web.Response:
        return page(
            self.templates, "checkout_message.html", status=status, heading=heading, text=text
        )


class CheckoutPages:
    def __init__(self, channel: aio.Channel, calls: PageCalls) -> None:
        self._checkout = checkout_pb2_grpc.CheckoutServiceStub(channel)
        self._calls = calls

    async def show(self, request: web.Request, code_refused: bool = False) -> web.StreamResponse:
        """The page, in the session's `locale` or the browser's language
        (paycore.edge.checkout_texts); `code_refused`: the promotion code the buyer typed was
        refused."""
        session_id, secret = request.match_info["session_id"], request.match_info.get("secret", "")
        if not self._opens(session_id, secret):
            return self._missing()
        try:
            found = await self._checkout.GetCheckoutPage(
                checkout_pb2.GetCheckoutPageRequest(id=session_id, secret=secret),
                metadata=self._calls.metadata(request),
                timeout=CALL_TIMEOUT_SECONDS,
            )
        except aio.AioRpcError as error:
            return self._failed(session_id, error)
        session = stripe_json(found.session)
        language = page_language(session.get("locale"), request.headers.get("Accept-Language", ""))
        success_url = session["success_url"].replace(SESSION_ID_PLACEHOLDER, session["id"])
        if session["status"] == "complete" and request.query.get("redirect_status"):
            # Back from the card's authentication (paycore.edge.returns), which paid it.
            raise web.HTTPSeeOther(success_url)
        return page(
            self._calls.templates,
            "checkout.html",
            session=session,
            merchant_name=found.merchant_name,
            description=found.description,
            publishable_key=found.publishable_key,
            client_secret=found.client_secret,
            last_error=language.decline(found.last_error_code) or found.last_error_message,
            processing=found.payment_intent_status == "processing",
            authenticating=found.payment_intent_status == "requires_action",
            success_url=success_url,
            code_refused=code_refused,
            language=language,
        )

    async def apply_code(self, request: web.Request) -> web.StreamResponse:
        """The page's promotion code form (a session of `allow_promotion_codes`):
        ApplyCheckoutPromotionCode, then the page again (303: a reload posts nothing), or the
        page with the refusal told beside the field."""
        session_id, secret = request.match_info["session_id"], request.match_info["secret"]
        if not self._opens(session_id, secret):
            return self._missing()
        form = await request.post()
        code = str(form.get("promotion_code", ""))
        try:
            await self._checkout.ApplyCheckoutPromotionCode(
                checkout_pb2.ApplyCheckoutPromotionCodeRequest(
                    id=session_id, secret=secret, promotion_code=code
                ),
                metadata=self._calls.metadata(request),
                timeout=CALL_TIMEOUT_SECONDS,
            )
        except aio.AioRpcError as error:
            if error.code() == StatusCode.INVALID_ARGUMENT:
                return await self.show(request, code_refused=True)
            if error.code() != StatusCode.FAILED_PRECONDITION:  # else: paid, or being paid
                return self._failed(session_id, error)
        raise web.HTTPSeeOther(request.path)

    def _opens(self, session_id: str, secret: str) -> bool:
        """Whether the edge may ask for this page (it has the pages' credential, and the id and
        secret are of their form)."""
        return (
            self._calls.enabled
            and bool(_SESSION_ID.fullmatch(session_id))
            and bool(_SECRET.fullmatch(secret))
        )

    def _failed(self, session_id: str, error: aio.AioRpcError) -> web.Response:
        """The page of a call the server refused: 404 (an unknown session, a wrong secret),
        429 (this visitor's address asked too often), else 503."""
        if error.code() in (StatusCode.NOT_FOUND, StatusCode.INVALID_ARGUMENT):
            return self._missing()
        if error.code() == StatusCode.RESOURCE_EXHAUSTED:
            limited = self._calls.message(429, "Too many requests", TOO_MANY)
            retry_after = from_rpc_error(error, "GET /c/pay").headers.get("Retry-After")
            if retry_after:
                limited.headers["Retry-After"] = retry_after
            return limited
        logger.warning("checkout page %s: %s", session_id, error.code().name)
        return self._calls.message(503, "Payments are unavailable", UNAVAILABLE)

    def _missing(self) -> web.Response:
        return self._calls.message(404, "This payment page does not exist", MISSING)
