"""SetupIntents over the REST edge, as stripe-python users write them (Stripe's "save a card
and charge it later" guide): `stripe.SetupIntent.create(customer=..., payment_method=...,
confirm=True)`, retrieve, list, cancel, a declining card's `last_setup_error`, and the saved
card charged off-session; the JSON has Stripe's shape (lowercase enums, `object`, nulls)."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn, assert_books_balance


async def test_save_a_card_with_a_setup_intent_and_charge_it_later(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(email="ada@example.com")
        setup = stripe.SetupIntent.create(
            customer=customer.id,
            payment_method="pm_card_visa",
            confirm=True,
            metadata={"plan": "gold"},
        )
        assert isinstance(setup, stripe.SetupIntent)
        assert (setup.object, setup.status, setup.usage) == (
            "setup_intent",
            "succeeded",
            "off_session",
        )
        assert setup.id.startswith("seti_") and setup.customer == customer.id
        assert str(setup.client_secret).startswith(f"{setup.id}_secret_")
        assert setup.last_setup_error is None and setup.cancellation_reason is None
        assert setup.payment_method_types == ["card"]
        assert setup.metadata is not None and setup.metadata["plan"] == "gold"
        method = stripe.PaymentMethod.retrieve(str(setup.payment_method))
        assert method.customer == customer.id
        expanded = stripe.SetupIntent.retrieve(setup.id, expand=["payment_method", "customer"])
        assert isinstance(expanded.payment_method, stripe.PaymentMethod)
        assert expanded.payment_method.id == method.id
        assert isinstance(expanded.customer, stripe.Customer)

        intent = stripe.PaymentIntent.create(
            amount=1099,
            currency="usd",
            customer=customer.id,
            payment_method=method.id,
            off_session=True,
            confirm=True,
        )
        assert intent.status == "succeeded"

        # A decline is Stripe's 402 card_error, the setup intent in it (as a payment intent's).
        with pytest.raises(stripe.CardError) as refused_card:
            stripe.SetupIntent.create(
                customer=customer.id, payment_method="pm_card_chargeDeclined", confirm=True
            )
        assert refused_card.value.error is not None
        declined = refused_card.value.error.setup_intent
        assert declined is not None and declined.status == "requires_payment_method"
        error = declined.last_setup_error
        assert error is not None
        assert (error.code, error.decline_code) == ("card_declined", "generic_decline")
        retried = stripe.SetupIntent.confirm(declined.id, payment_method="pm_card_visa")
        assert (retried.status, retried.last_setup_error) == ("succeeded", None)

        waiting = stripe.SetupIntent.create(customer=customer.id, usage="on_session")
        assert (waiting.status, waiting.usage) == ("requires_payment_method", "on_session")
        canceled = stripe.SetupIntent.cancel(waiting.id, cancellation_reason="abandoned")
        assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.SetupIntent.cancel(waiting.id)
        assert refused.value.code == "setup_intent_unexpected_state"

        listed = stripe.SetupIntent.list(customer=customer.id, limit=2)
        assert [found.id for found in listed.data] == [waiting.id, declined.id]
        assert listed.has_more
        rest = stripe.SetupIntent.list(customer=customer.id, starting_after=declined.id)
        assert [found.id for found in rest.data] == [setup.id]

        with pytest.raises(stripe.InvalidRequestError) as bad:
            stripe.SetupIntent.create(usage="sometimes")
        assert bad.value.param == "usage"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)
