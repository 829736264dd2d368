"""Stripe's subscription quickstart as written (docs.stripe.com/billing/subscriptions/
build-subscriptions), with stripe-python against the REST edge: the server creates the
subscription with payment_behavior=default_incomplete, save_default_payment_method=
on_subscription and expand[]=latest_invoice.payment_intent, hands the intent's client_secret
to the browser, which confirms it with the publishable key; then (after the worker's billing
pass, as `paycore worker` runs it every second) the invoice is paid, the subscription active
and its default payment method the card the customer brought."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from aiohttp import ClientSession

from tests.clients.conftest import EdgeMerchant
from tests.payment.shop import PayIn
from tests.subscription.support import billing_job, work_once


async def test_the_quickstart_subscription_is_paid_by_the_browser(
    payin: PayIn, stripe_module: EdgeMerchant
) -> None:
    def create() -> tuple[str, str, str, str]:
        customer = stripe.Customer.create(email="jenny.rosen@example.com")
        product = stripe.Product.create(name="Gold Special")
        price = stripe.Price.create(
            unit_amount=1200, currency="usd", recurring={"interval": "month"}, product=product.id
        )

        def subscribe() -> stripe.Subscription:
            return stripe.Subscription.create(
                customer=customer.id,
                items=[{"price": price.id}],
                payment_behavior="default_incomplete",
                payment_settings={"save_default_payment_method": "on_subscription"},
                expand=["latest_invoice.payment_intent"],
                idempotency_key="quickstart-subscription",
            )

        subscription = subscribe()
        assert subscribe().id == subscription.id  # a retry replays it
        assert subscription.status == "incomplete"
        invoice = subscription["latest_invoice"]
        intent = invoice["payment_intent"]
        assert (invoice["status"], intent["status"]) == ("open", "requires_payment_method")
        assert intent["amount"] == 1200
        return subscription.id, invoice["id"], intent["id"], intent["client_secret"]

    subscription_id, invoice_id, intent_id, client_secret = await asyncio.to_thread(create)

    # The browser (Stripe.js's confirmPayment): the publishable key and the client_secret.
    async with ClientSession() as browser:
        answer = await browser.post(
            f"{stripe_module.url}/v1/payment_intents/{intent_id}/confirm",
            data={"client_secret": client_secret, "payment_method": "pm_card_visa"},
            headers={"Authorization": f"Bearer {stripe_module.publishable_key}"},
        )
        confirmed = await answer.json()
    assert (answer.status, confirmed["status"]) == (200, "succeeded"), confirmed
    await work_once(payin, billing_job(payin))

    def after() -> None:
        subscription = stripe.Subscription.retrieve(subscription_id)
        assert subscription.status == "active"
        assert subscription.default_payment_method == confirmed["payment_method"]
        paid = stripe.Invoice.retrieve(invoice_id)
        assert (paid.status, paid.amount_paid) == ("paid", 1200)

    await asyncio.to_thread(after)


async def test_an_unknown_payment_behavior_is_a_400_naming_it(
    stripe_module: EdgeMerchant,
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(email="jenny.rosen@example.com")
        product = stripe.Product.create(name="Gold Special")
        price = stripe.Price.create(
            unit_amount=1200, currency="usd", recurring={"interval": "month"}, product=product.id
        )
        with pytest.raises(stripe.error.InvalidRequestError) as refused:
            stripe.Subscription.create(
                customer=customer.id,
                items=[{"price": price.id}],
                payment_behavior="pending_if_incomplete",
            )
        assert (refused.value.http_status, refused.value.param) == (400, "payment_behavior")

    await asyncio.to_thread(scenario)


async def test_error_if_incomplete_declined_is_a_402_card_error(
    stripe_module: EdgeMerchant,
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(
            email="jenny.rosen@example.com",
            payment_method="pm_card_chargeDeclined",
            invoice_settings={"default_payment_method": "pm_card_chargeDeclined"},
        )
        product = stripe.Product.create(name="Gold Special")
        price = stripe.Price.create(
            unit_amount=1200, currency="usd", recurring={"interval": "month"}, product=product.id
        )
        with pytest.raises(stripe.error.CardError) as declined:
            stripe.Subscription.create(
                customer=customer.id,
                items=[{"price": price.id}],
                payment_behavior="error_if_incomplete",
            )
        assert (declined.value.http_status, declined.value.code) == (402, "card_declined")
        assert stripe.Subscription.list(customer=customer.id, status="active").data == []

    await asyncio.to_thread(scenario)
