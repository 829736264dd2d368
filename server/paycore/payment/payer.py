"""The card a payment charges, checked against the customer the payment names."""

from __future__ import annotations

from paycore.customer.models import ChargeableCard
from paycore.errors import ApiError, Reason
from paycore.executor.service import CardSource


async def payer_card(
    cards: CardSource, merchant_id: str, payment_method_id: str, customer_id: str | None
) -> ChargeableCard:
    """NOT_FOUND for an unknown payment method; INVALID_ARGUMENT when it is attached to a
    customer other than `customer_id`."""
    card = await cards.card_for_charge(merchant_id, payment_method_id)
    if customer_id and card.customer_id and card.customer_id != customer_id:
        raise ApiError(
            Reason.PAYMENT_METHOD_CUSTOMER_MISMATCH,
            param="payment_method",
            payment_method=payment_method_id,
            customer=customer_id,
        )
    return card
