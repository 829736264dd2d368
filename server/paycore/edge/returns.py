"""The buyer's way back from 3-D Secure: GET /3ds/return, where the PSP's authentication page
sends the buyer once they answered (paycore gives the PSP this URL as the operation's
return_url: paycore.payment.authenticated.ReturnRoute).

The edge calls ReturnFromAuthentication (internal, with the pages' credential, the visitor's
address forwarded for its per-address limit) with the merchant, the payment intent (or
SetupIntent) and its client_secret from the query: paycore finishes the object with the buyer's
answer before the buyer reaches the merchant, and the edge sends them on (303) to the
merchant's return_url with Stripe's `payment_intent`, `payment_intent_client_secret` and
`redirect_status` (a setup's `setup_intent`, `setup_intent_client_secret`). A wrong secret, an
unknown object and a missing parameter are the same 404 page; paycore unreachable is a 503
page (the PSP's authentications feed finishes the object all the same)."""

from __future__ import annotations

import logging

from aiohttp import web
from grpc import StatusCode, aio
from paycore.edge.pages import PageCalls
from paycore.v1 import payment_pb2, payment_pb2_grpc

RETURN_ROUTE = "/3ds/return"
"""paycore.payment.authenticated.RETURN_PATH: the route the PSP is given."""
CALL_TIMEOUT_SECONDS = 15.0
MISSING = "Check the link you were given, or go back to the shop."
UNAVAILABLE = (
    "paycore cannot be reached at the moment. Your answer to your bank was recorded: the shop"
    " will see it shortly."
)
FINISHED = "Your answer to your bank was recorded. You may close this page."

logger = logging.getLogger(__name__)


class AuthenticationReturns:
    def __init__(self, channel: aio.Channel, calls: PageCalls) -> None:
        self._payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self._calls = calls

    async def back(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if not self._calls.enabled:
            return self._calls.message(404, "This page does not exist", MISSING)
        asked = payment_pb2.ReturnFromAuthenticationRequest(
            merchant=query.get("merchant", ""),
            payment_intent=query.get("payment_intent", ""),
            setup_intent=query.get("setup_intent", ""),
            client_secret=query.get("payment_intent_client_secret")
            or query.get("setup_intent_client_secret")
            or "",
        )
        try:
            answered = await self._payments.ReturnFromAuthentication(
                asked, metadata=self._calls.metadata(request), timeout=CALL_TIMEOUT_SECONDS
            )
        except aio.AioRpcError as error:
            if error.code() in (StatusCode.NOT_FOUND, StatusCode.INVALID_ARGUMENT):
                return self._calls.message(404, "This page does not exist", MISSING)
            logger.warning("3-D Secure return: %s", error.code().name)
            return self._calls.message(503, "Almost done", UNAVAILABLE)
        if not answered.return_url:
            return self._calls.message(200, "Authentication finished", FINISHED)
        raise web.HTTPSeeOther(answered.return_url)
