"""Checkout dataclasses -> CheckoutService messages."""

from __future__ import annotations

from paycore.checkout.models import HostedPage, LineItem, Session, SessionStatus
from paycore.checkout.page_secrets import PageSecrets
from paycore.ids import Prefix
from paycore.runtime.messages import Converter, message_of
from paycore.v1 import checkout_pb2, subscription_pb2

_STATUSES = {
    SessionStatus.OPEN: checkout_pb2.CHECKOUT_SESSION_STATUS_OPEN,
    SessionStatus.COMPLETE: checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE,
    SessionStatus.EXPIRED: checkout_pb2.CHECKOUT_SESSION_STATUS_EXPIRED,
}
PAGE_PATH = "/c/pay/"
"""Where the REST edge serves a session's hosted page (paycore.edge.pages), followed by the
session's id and the page's secret."""


class SessionMessages:
    """Renders sessions with their `url`, the hosted page on the edge at `pages_url` with the
    page's secret (`<pages_url>/c/pay/<id>/<secret>`; `session`: their converter)."""

    def __init__(self, pages_url: str, page_secrets: PageSecrets) -> None:
        self._pages_url = pages_url.rstrip("/")
        self._page_secrets = page_secrets
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
            url=f"{self._pages_url}{PAGE_PATH}{session.id}/{self._page_secrets.of(session.id)}",
            expires_at=session.expires_at,
            created=session.created,
            metadata=session.metadata,
            mode="payment",
            payment_method_types=["card"],
            payment_status="paid" if session.status is SessionStatus.COMPLETE else "unpaid",
            amount_subtotal=session.amount_subtotal,
            total_details=checkout_pb2.CheckoutSession.TotalDetails(
                amount_discount=session.amount_discount
            ),
            client_reference_id=session.client_reference_id,
            customer_creation=session.customer_creation,
            locale=session.locale,
            allow_promotion_codes=session.allow_promotion_codes,
        )
        if session.customer_details is not None:
            message.customer_details.CopyFrom(
                message_of(checkout_pb2.CheckoutCustomerDetails, session.customer_details)
            )
        if session.coupon_id:
            message.discounts.append(
                checkout_pb2.CheckoutDiscount(
                    coupon=session.coupon_id, promotion_code=session.promotion_code_id
                )
            )
        message.line_items.extend(
            self.line_item(item, session.created, session.currency) for item in session.line_items
        )
        return message

    def line_item(
        self, item: LineItem, created: int, currency: str
    ) -> checkout_pb2.CheckoutLineItem:
        return checkout_pb2.CheckoutLineItem(
            id=item.id,
            created=created,
            name=item.name,
            description=item.name,
            currency=currency,
            unit_amount=item.unit_amount,
            quantity=item.quantity,
            amount_subtotal=item.amount_total,
            amount_total=item.amount_total,
            price=_price(item, created, currency),
        )

    def page(self, page: HostedPage, client_secret: str) -> checkout_pb2.CheckoutPage:
        return checkout_pb2.CheckoutPage(
            session=self.session(page.session),
            merchant_name=page.merchant_name,
            description=page.session.description,
            publishable_key=page.publishable_key,
            client_secret=client_secret,
            last_error_message=page.last_error_message,
            last_error_code=page.last_error_code,
            payment_intent_status=page.intent_status,
        )


def _price(item: LineItem, created: int, currency: str) -> subscription_pb2.Price:
    """Stripe's price object of a line: the catalogue price it was made from (as then), the
    inline price made for a price_data line, or for a line of a name one named after the line
    ("li_X" -> "price_X", no row)."""
    inline = item.price_id is None or item.inline
    return subscription_pb2.Price(
        id=inline_price_id(item.id) if item.price_id is None else item.price_id,
        product=item.product_id or "",
        unit_amount=item.unit_amount,
        currency=currency,
        type=subscription_pb2.PRICE_TYPE_ONE_TIME,
        active=not inline,
        nickname=item.price_nickname,
        created=created,
        metadata=item.price_metadata,
    )


def inline_price_id(line_id: str) -> str:
    """The id of a line's inline price: the line's own, under the price prefix (the same on
    every read, with no row of its own)."""
    return f"{Prefix.PRICE.value}_{line_id.partition('_')[2]}"
