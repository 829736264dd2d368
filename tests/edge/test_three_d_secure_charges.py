"""Charges of a payment that needed 3-D Secure, as stripe-python users read them: the attempt
the PSP answered `requires_action` charged nothing, so it is no charge (Stripe's
`Charge.list(payment_intent=...)` is empty while the intent waits for the buyer, and shows the
one charge once authenticated), never a `succeeded`, `paid` charge named by the `auth_` id."""

from __future__ import annotations

import asyncio

import stripe
from paycore.v1 import account_pb2

from tests.edge.test_three_d_secure import (
    RETURN_URL,
    _buyer_answers,
    assert_returns_through_paycore,
)
from tests.helpers import PspSimulator


async def test_an_intent_waiting_for_authentication_has_no_charge_and_then_one(
    stripe_module: account_pb2.Merchant, psp: PspSimulator
) -> None:
    intent = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=2000,
        currency="usd",
        payment_method="pm_card_authenticationRequired",
        confirm=True,
        return_url=RETURN_URL,
    )
    assert intent.status == "requires_action" and intent.latest_charge is None
    waiting = await asyncio.to_thread(stripe.Charge.list, payment_intent=intent.id)
    assert waiting.data == []

    assert intent.next_action is not None and intent.next_action.redirect_to_url is not None
    await _buyer_answers(str(intent.next_action.redirect_to_url.url), "complete")
    confirmed = await asyncio.to_thread(stripe.PaymentIntent.confirm, intent.id)

    charges = await asyncio.to_thread(stripe.Charge.list, payment_intent=intent.id)
    assert [(charge.id, charge.status, charge.paid) for charge in charges.data] == [
        (confirmed.latest_charge, "succeeded", True)
    ]
    everything = await asyncio.to_thread(stripe.Charge.list, limit=100)
    assert all(charge.id.startswith("ch_") for charge in everything.data)


async def test_the_page_sends_the_buyer_back_naming_the_intent_and_the_outcome(
    stripe_module: account_pb2.Merchant, psp: PspSimulator
) -> None:
    """As Stripe's redirect: the way back names the intent (`payment_intent`,
    `payment_intent_client_secret`; a setup's `setup_intent`...) and `redirect_status`; it goes
    through paycore's return, which sends the buyer on to the merchant's return_url, its own
    query kept (tests/edge/test_three_d_secure_return.py); next_action's return_url stays the
    merchant's."""
    intent = await asyncio.to_thread(
        stripe.PaymentIntent.create,
        amount=2000,
        currency="usd",
        payment_method="pm_card_authenticationRequired",
        confirm=True,
        return_url=f"{RETURN_URL}?order=7",
    )
    assert intent.next_action is not None and intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.return_url == f"{RETURN_URL}?order=7"
    back = await _buyer_answers(str(intent.next_action.redirect_to_url.url), "complete")
    assert_returns_through_paycore(
        back, "payment_intent", intent.id, str(intent.client_secret), "succeeded"
    )

    setup = await asyncio.to_thread(
        stripe.SetupIntent.create,
        payment_method="pm_card_authenticationRequired",
        confirm=True,
        return_url=RETURN_URL,
    )
    assert setup.next_action is not None and setup.next_action.redirect_to_url is not None
    back = await _buyer_answers(str(setup.next_action.redirect_to_url.url), "fail")
    assert_returns_through_paycore(
        back, "setup_intent", setup.id, str(setup.client_secret), "failed"
    )
