"""Checkout dataclasses -> CheckoutService messages."""

from __future__ import annotations

from paycore.checkout.models import HostedPage, Session, SessionStatus
from paycore.runtime.messages import Converter
from paycore.v1 import checkout_pb2

_STATUSES = {
    SessionStatus.OPEN: checkout_pb2.CHECKOUT_SESSION_STATUS_OPEN,
    SessionStatus.COMPLETE: checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE,
    SessionStatus.EXPIRED: checkout_pb2.CHECKOUT_SESSION_STATUS_EXPIRED,
}
PAGE_PATH = "/c/pay/"
"""Where the REST edge serves a session's hosted page (paycore.edge.pages)."""


class SessionMessages:
    """Renders sessions with their `url`, the hosted page on the edge at `pages_url` (`session`:
    their converter)."""

    def __init__(self, pages_url: str) -> None:
        self._pages_url = pages_url.rstrip("/")
        self.session = Converter(checkout_pb2.CheckoutSession, self._session)

    def _session(self, session: Session) -> checkout_pb2.CheckoutSession:
        message = checkout_pb2.CheckoutSession(
            id=session.id,
            amount_total=session.amount_total,
            currency=session.currency,
            customer=session.customer_id or "",
            customer_email=session.customer_email,
            success_url=session.success_url,
            cancel_url=session.cancel_url,
            status=_STATUSES[session.status],
            payment_intent=session.payment_intent_id,
            url=f"{self._pages_url}{PAGE_PATH}{session.id}",
            expires_at=session.expires_at,
            created=session.created,
            metadata=session.metadata,
            mode="payment",
            payment_status="paid" if session.status is SessionStatus.COMPLETE else "unpaid",
        )
        for item in session.line_items:
            message.line_items.add(
                name=item.name,
                unit_amount=item.unit_amount,
                quantity=item.quantity,
                amount_total=item.amount_total,
                price=item.price_id or "",
            )
        return message

    def page(self, page: HostedPage, client_secret: str) -> checkout_pb2.CheckoutPage:
        return checkout_pb2.CheckoutPage(
            session=self.session(page.session),
            merchant_name=page.merchant_name,
            description=page.session.description,
            publishable_key=page.publishable_key,
            client_secret=client_secret,
            last_error_message=page.last_error_message,
            payment_intent_status=page.intent_status,
        )
