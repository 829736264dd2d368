"""The card a payment charges, checked against the customer the payment names."""

from __future__ import annotations

from typing import Protocol

from paycore.customer.models import ChargeableCard
from paycore.customer.test_methods import is_test_payment_method
from paycore.errors import ApiError, Reason
from paycore.executor.service import CardSource
from sqlalchemy.ext.asyncio import AsyncConnection


class PayerCards(CardSource, Protocol):
    async def test_card(self, merchant_id: str, name: str, param: str) -> ChargeableCard:
        """A new payment method of a test card (`pm_card_visa`), not yet written."""

    async def save_test_card(
        self, connection: AsyncConnection, merchant_id: str, card: ChargeableCard
    ) -> object:
        """Writes a `test_card`'s payment method; nothing for a stored card."""


async def payer_card(
    cards: PayerCards, merchant_id: str, payment_method_id: str, customer_id: str | None
) -> ChargeableCard:
    """NOT_FOUND for an unknown payment method; INVALID_ARGUMENT when it is attached to a
    customer other than `customer_id`, or to a customer while the payment names none (as at
    Stripe: a saved card pays only for its customer). A test payment method's name (`pm_card_visa`:
    paycore.customer.test_methods) gives a new payment method of that card, which the
    request's first transaction writes (`PayerCards.save_test_card`)."""
    if is_test_payment_method(payment_method_id):
        return await cards.test_card(merchant_id, payment_method_id, "payment_method")
    card = await cards.card_for_charge(merchant_id, payment_method_id)
    if card.customer_id and not customer_id:
        raise ApiError(
            Reason.PAYMENT_METHOD_CUSTOMER_REQUIRED,
            param="customer",
            payment_method=payment_method_id,
            customer=card.customer_id,
        )
    if customer_id and card.customer_id and card.customer_id != customer_id:
        raise ApiError(
            Reason.PAYMENT_METHOD_CUSTOMER_MISMATCH,
            param="payment_method",
            payment_method=payment_method_id,
            customer=customer_id,
        )
    return card
