"""A declined payment intent's `latest_charge` is its failed charge, as Stripe's (its
quickstarts read `intent.latest_charge` after a decline to show the charge's outcome), and so
are the decline's `charge` (stripe-python's `CardError.error.charge`) and
`last_payment_error.charge`. The intent's paid charge (the one refunds, disputes and the books
take) is still the one that succeeded: a refund of the declined-only intent is refused, and
after another card pays, latest_charge is that paid charge and refunds take it."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.tools.psp import cards
from paycore.v1 import account_pb2, payment_pb2

from tests.payment.shop import PayIn, Shop, assert_books_balance


async def test_a_declined_intents_latest_charge_is_its_failed_charge(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        intent = stripe.PaymentIntent.create(amount=2600, currency="usd")
        with pytest.raises(stripe.CardError) as declined:
            stripe.PaymentIntent.confirm(
                intent.id, payment_method="pm_card_chargeDeclinedInsufficientFunds"
            )
        (failed,) = stripe.Charge.list(payment_intent=intent.id).data
        assert failed.status == "failed" and failed.id.startswith("ch_")
        error = declined.value.error
        assert error is not None and error.charge == failed.id
        read = stripe.PaymentIntent.retrieve(intent.id)
        assert read.status == "requires_payment_method"
        assert read.latest_charge == failed.id
        assert read.last_payment_error is not None
        assert read.last_payment_error.charge == failed.id
        expanded = stripe.PaymentIntent.retrieve(intent.id, expand=["latest_charge"])
        assert isinstance(expanded.latest_charge, stripe.Charge)
        assert (expanded.latest_charge.id, expanded.latest_charge.paid) == (failed.id, False)
        # Nothing was paid: nothing to refund, by the intent or by its (failed) charge.
        for named in ({"payment_intent": intent.id}, {"charge": failed.id}):
            with pytest.raises(stripe.InvalidRequestError):
                stripe.Refund.create(**named)  # type: ignore[arg-type]

        paid = stripe.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")
        assert paid.status == "succeeded" and paid.last_payment_error is None
        assert paid.latest_charge not in (None, failed.id)
        refund = stripe.Refund.create(payment_intent=intent.id, amount=600)
        assert refund.charge == paid.latest_charge

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


@pytest.mark.parametrize("card", [cards.CARD_DECLINED, cards.CARD_EXPIRED])
async def test_on_grpc_a_declined_intent_names_its_failed_charge(shop: Shop, card: str) -> None:
    method = await shop.card(card)
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=1500, currency="usd", payment_method=method, confirm=True
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    charges = await shop.client.payments.ListCharges(
        payment_pb2.ListChargesRequest(payment_intent=intent.id)
    )
    (failed,) = charges.data
    assert intent.latest_charge == failed.id == intent.last_payment_error.charge
    read = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert read.latest_charge == failed.id
