"""stripe-python's Connect calls as paycore documents them (docs/connect.md), each answer
checked against what Stripe documents for it (found by a black-box probe through the SDK)."""

from __future__ import annotations

import asyncio

import pytest
import stripe


@pytest.mark.usefixtures("stripe_module")
async def test_a_destination_charge_names_its_application_fee() -> None:
    """Stripe's Charge has `application_fee`, the id of the fee the platform kept (what
    ApplicationFee.retrieve reads); it was missing (AttributeError). A charge without a fee
    has null."""

    def scenario() -> None:
        seller = stripe.Account.create(
            type="express", country="US", email="seller@shop.test", default_currency="usd"
        )
        intent = stripe.PaymentIntent.create(
            amount=10000,
            currency="usd",
            payment_method="pm_card_visa",
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
            confirm=True,
            application_fee_amount=1234,
            transfer_data={"destination": seller.id},
        )
        assert isinstance(intent.latest_charge, str)
        charge = stripe.Charge.retrieve(intent.latest_charge)
        fee = stripe.ApplicationFee.retrieve(str(charge.application_fee))
        assert (fee.amount, fee.account, fee.object) == (1234, seller.id, "application_fee")
        assert [found.id for found in stripe.ApplicationFee.list(limit=1).data] == [fee.id]

        plain = stripe.PaymentIntent.create(
            amount=500,
            currency="usd",
            payment_method="pm_card_visa",
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
            confirm=True,
        )
        assert isinstance(plain.latest_charge, str)
        assert stripe.Charge.retrieve(plain.latest_charge).application_fee is None

    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_seller_account_as_stripe_connect_guide_creates_it() -> None:
    """`stripe.Account.create(type="express")`, as Stripe's Connect guides write it, was
    refused for want of `default_currency` and `email`, which Stripe's Account.create never
    requires: the country and currency default to the platform's, the email to none. A seller
    of another country still names its currency."""

    def scenario() -> None:
        seller = stripe.Account.create(type="express")
        assert (seller.type, seller.country, seller.default_currency) == ("express", "US", "usd")
        # Stripe's email is null when none was given (paycore rendered "").
        assert stripe.Account.retrieve(seller.id).email is None
        assert seller.email is None
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.Account.create(type="custom", country="DE")
        assert (refused.value.code, refused.value.param) == (
            "parameter_missing",
            "default_currency",
        )
        german = stripe.Account.create(type="custom", country="DE", default_currency="eur")
        assert (german.country, german.default_currency) == ("DE", "eur")

    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_an_application_fee_names_its_charge() -> None:
    """Stripe's ApplicationFee has `charge`, the "ch_..." it was taken from (the intent's
    latest_charge); it was missing (AttributeError)."""

    def scenario() -> None:
        seller = stripe.Account.create(type="express")
        intent = stripe.PaymentIntent.create(
            amount=4000,
            currency="usd",
            payment_method="pm_card_visa",
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
            confirm=True,
            application_fee_amount=400,
            transfer_data={"destination": seller.id},
        )
        (fee,) = stripe.ApplicationFee.list(limit=1).data
        assert (fee.charge, fee.amount) == (intent.latest_charge, 400)
        assert stripe.ApplicationFee.retrieve(fee.id).charge == intent.latest_charge

    await asyncio.to_thread(scenario)
