"""The snippets a new merchant copies from Stripe's own documentation, in test mode, run as
written against paycore: stripe-python's module-level style (`stripe.api_key = "sk_test_..."`,
`stripe.PaymentIntent.create(...)`), the edge as `stripe.api_base`, the test payment methods
(`pm_card_visa`) in place of cards a browser would collect. Each test is one of Stripe's guides:
accept a payment, place a hold, refund, save a card and charge it later, a subscription, an
idempotent retry. What paycore does not have (deploy/edge.md's differences) is left out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import stripe


async def in_thread(scenario: Callable[[], None]) -> None:
    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_accept_a_payment() -> None:
    """docs.stripe.com/payments/accept-a-payment, confirmed server-side with a test card."""

    def scenario() -> None:
        intent = stripe.PaymentIntent.create(
            amount=2000,
            currency="usd",
            automatic_payment_methods={"enabled": True, "allow_redirects": "never"},
            payment_method="pm_card_visa",
            confirm=True,
        )
        assert (intent.status, intent.amount_received) == ("succeeded", 2000)
        assert stripe.PaymentIntent.retrieve(intent.id).status == "succeeded"

        later = stripe.PaymentIntent.create(
            amount=1099, currency="usd", automatic_payment_methods={"enabled": True}
        )
        assert later.status == "requires_payment_method"
        assert later.payment_method_types == ["card"]  # what a payment form offers
        confirmed = stripe.PaymentIntent.confirm(
            later.id, payment_method="pm_card_visa", return_url="https://www.example.com"
        )
        assert confirmed.status == "succeeded"

        listed = stripe.PaymentIntent.list(limit=3)
        assert [found.id for found in listed.data] == [later.id, intent.id]

        refund = stripe.Refund.create(payment_intent=intent.id)
        assert (refund.amount, refund.payment_intent) == (2000, intent.id)
        assert refund.status in ("pending", "succeeded")

    await in_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_declined_card() -> None:
    """docs.stripe.com/error-handling: a decline is a CardError with the decline code."""

    def scenario() -> None:
        with pytest.raises(stripe.error.CardError) as declined:
            stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                payment_method="pm_card_chargeDeclined",
                confirm=True,
            )
        error = declined.value
        assert (error.http_status, error.code) == (402, "card_declined")
        assert error.user_message
        assert error.error is not None and error.error.decline_code == "generic_decline"
        assert error.error.payment_intent is not None
        intent = stripe.PaymentIntent.retrieve(error.error.payment_intent["id"])
        assert intent.status == "requires_payment_method"

    await in_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_place_a_hold_and_capture() -> None:
    """docs.stripe.com/payments/place-a-hold-on-a-payment-method."""

    def scenario() -> None:
        def hold() -> stripe.PaymentIntent:
            return stripe.PaymentIntent.create(
                amount=1099,
                currency="usd",
                payment_method="pm_card_visa",
                capture_method="manual",
                confirm=True,
            )

        intent = hold()
        assert (intent.status, intent.amount_capturable) == ("requires_capture", 1099)
        captured = stripe.PaymentIntent.capture(intent.id, amount_to_capture=750)
        assert (captured.status, captured.amount_received) == ("succeeded", 750)
        assert stripe.PaymentIntent.cancel(hold().id).status == "canceled"

    await in_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_save_a_card_and_charge_it_later() -> None:
    """docs.stripe.com/payments/save-and-reuse: attach, list the customer's cards, then charge
    one off-session."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="jenny.rosen@example.com")
        stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
        methods = stripe.PaymentMethod.list(customer=customer.id, type="card")
        [method] = methods.data
        assert method.card is not None and (method.card.brand, method.card.last4) == (
            "visa",
            "4242",
        )
        intent = stripe.PaymentIntent.create(
            amount=1099,
            currency="usd",
            automatic_payment_methods={"enabled": True},
            customer=customer.id,
            payment_method=method.id,
            return_url="https://example.com/order/123/complete",
            off_session=True,
            confirm=True,
        )
        assert (intent.status, intent.customer, intent.payment_method) == (
            "succeeded",
            customer.id,
            method.id,
        )

    await in_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_subscription() -> None:
    """docs.stripe.com/billing/subscriptions/build-subscriptions, with the customer the
    test-clock and quickstart guides create: a test card as its default payment method."""

    def scenario() -> None:
        customer = stripe.Customer.create(
            email="jenny.rosen@example.com",
            payment_method="pm_card_visa",
            invoice_settings={"default_payment_method": "pm_card_visa"},
        )
        assert customer.invoice_settings is not None
        default = str(customer.invoice_settings.default_payment_method)
        assert default.startswith("pm_") and default != "pm_card_visa"
        [saved] = stripe.PaymentMethod.list(customer=customer.id, type="card").data
        assert saved.id == default

        product = stripe.Product.create(name="Gold Special")
        price = stripe.Price.create(
            unit_amount=1200,
            currency="usd",
            recurring={"interval": "month"},
            product=product.id,
        )
        assert price.recurring is not None and price.recurring.interval_count == 1
        subscription = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
        assert subscription.status == "active"
        assert stripe.Subscription.retrieve(subscription.id).id == subscription.id
        invoice = stripe.Invoice.retrieve(
            str(subscription.latest_invoice), expand=["payment_intent"]
        )
        assert invoice["payment_intent"]["payment_method"] == default  # the customer's default
        named = stripe.Subscription.create(
            customer=customer.id, items=[{"price": price.id}], default_payment_method=default
        )
        assert named.default_payment_method == default

        canceled = stripe.Subscription.cancel(subscription.id)
        assert canceled.status == "canceled"

    await in_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_an_idempotent_retry() -> None:
    """docs.stripe.com/api/idempotent_requests: a retry with the same key (a timeout, a crash
    before the answer was read) replays the same object instead of making another."""

    def scenario() -> None:
        def create_customer() -> stripe.Customer:
            return stripe.Customer.create(
                email="jenny.rosen@example.com", idempotency_key="KG5LxwFBepaKHyUD"
            )

        def pay() -> stripe.PaymentIntent:
            return stripe.PaymentIntent.create(
                amount=2000,
                currency="usd",
                payment_method="pm_card_visa",
                confirm=True,
                idempotency_key="order-1234",
            )

        first = create_customer()
        assert create_customer().id == first.id
        paid = pay()
        replayed = pay()
        assert (replayed.id, replayed.payment_method) == (paid.id, paid.payment_method)
        assert [found.id for found in stripe.PaymentIntent.list(limit=10).data] == [paid.id]
        assert [found.id for found in stripe.Customer.list(limit=10).data] == [first.id]

    await in_thread(scenario)
