"""What a newcomer integrating with stripe-python trips on at the REST edge (each test one
defect found by trying paycore as a new merchant would)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn, assert_books_balance


async def test_an_empty_setup_future_usage_on_update_unsets_it(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's update takes `setup_future_usage=""` (its OpenAPI: enum "", on_session,
    off_session) to unset it: the card is then not saved when the intent succeeds. paycore
    dropped the empty value, so the intent still saved the buyer's card."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="unset@example.com")
        intent = stripe.PaymentIntent.create(
            amount=1200, currency="usd", customer=customer.id, setup_future_usage="off_session"
        )
        unset = stripe.PaymentIntent.modify(intent.id, setup_future_usage="")
        assert unset.setup_future_usage is None
        assert stripe.PaymentIntent.retrieve(intent.id).setup_future_usage is None
        paid = stripe.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")
        assert (paid.status, paid.setup_future_usage) == ("succeeded", None)
        assert stripe.PaymentMethod.list(customer=customer.id, type="card").data == []
        # Unset and set in one request (JSON's "" and a value cannot both come): set again,
        # then the same empty value on an intent without one changes nothing.
        again = stripe.PaymentIntent.create(amount=900, currency="usd")
        assert (
            stripe.PaymentIntent.modify(again.id, setup_future_usage="").setup_future_usage is None
        )
        raised = stripe.PaymentIntent.modify(again.id, setup_future_usage="on_session")
        assert raised.setup_future_usage == "on_session"

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_an_empty_setup_future_usage_on_confirm_unsets_it(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's confirm takes `setup_future_usage=""` too (stripe-python's
    PaymentIntentConfirmParams: Literal['']): confirmed so, the card is not saved. The buyer's
    client (a publishable key with the client_secret) may not unset it, as it may not lower it."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="confirm-unset@example.com")
        intent = stripe.PaymentIntent.create(
            amount=1300, currency="usd", customer=customer.id, setup_future_usage="on_session"
        )
        publishable = stripe.PaymentMethod.create(
            type="card",
            card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034},
        )
        buyer_key = stripe_module.publishable_key
        # What Stripe.js sends; stripe-python's server-side types do not name it.
        secret: dict[str, Any] = {"client_secret": str(intent.client_secret)}
        with pytest.raises(stripe.InvalidRequestError) as lowered:
            stripe.PaymentIntent.confirm(
                intent.id,
                payment_method=publishable.id,
                **secret,
                setup_future_usage="",
                api_key=buyer_key,
            )
        assert lowered.value.param == "setup_future_usage"
        paid = stripe.PaymentIntent.confirm(
            intent.id, payment_method="pm_card_visa", setup_future_usage=""
        )
        assert (paid.status, paid.setup_future_usage) == ("succeeded", None)
        assert stripe.PaymentMethod.list(customer=customer.id, type="card").data == []

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_an_empty_discounts_on_a_subscription_update_removes_its_discount(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's `Subscription.modify(id, discounts="")` clears the subscription's discounts
    (stripe-python's SubscriptionModifyParams: "If empty string, it clears the subscription's
    discounts"); paycore answered 200 with the discount still there, and the next invoices
    still discounted."""

    def scenario() -> None:
        price = stripe.Price.create(
            product=stripe.Product.create(name="Plan").id,
            unit_amount=2000,
            currency="usd",
            recurring={"interval": "month"},
        )
        coupon = stripe.Coupon.create(percent_off=10, duration="forever")
        customer = stripe.Customer.create(
            email="no-more-discount@example.com",
            payment_method="pm_card_visa",
            invoice_settings={"default_payment_method": "pm_card_visa"},
        )
        subscription = stripe.Subscription.create(
            customer=customer.id, items=[{"price": price.id}], discounts=[{"coupon": coupon.id}]
        )
        discount = subscription["discount"]
        assert discount is not None and subscription.discounts == [discount.id]
        cleared = stripe.Subscription.modify(subscription.id, discounts="")
        assert cleared["discount"] is None and cleared.discounts == []
        read = stripe.Subscription.retrieve(subscription.id)
        assert read["discount"] is None and read.discounts == []
        deleted = stripe.Event.list(type="customer.discount.deleted")
        assert [event.data.object.id for event in deleted.data] == [discount.id]
        # Nothing to clear any more: the same again changes nothing, and a coupon may be taken.
        again = stripe.Subscription.modify(subscription.id, discounts="")
        assert again["discount"] is None
        retaken = stripe.Subscription.modify(subscription.id, discounts=[{"coupon": coupon.id}])
        assert retaken["discount"] is not None and retaken["discount"].coupon.id == coupon.id

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)


async def test_an_empty_address_on_a_customer_update_removes_it(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe's `Customer.modify(id, address="")` (CustomerModifyParams: Literal['']) removes
    the address; paycore answered 200 with the address unchanged."""

    def scenario() -> None:
        customer = stripe.Customer.create(
            email="moved@example.com", address={"line1": "1 Main St", "city": "Springfield"}
        )
        assert customer.address is not None and customer.address.line1 == "1 Main St"
        cleared = stripe.Customer.modify(customer.id, address="", name="Ada")
        assert cleared.name == "Ada"
        assert cleared.address is None  # no address: Stripe's null
        read = stripe.Customer.retrieve(customer.id)
        assert read.address is None
        # paycore's own flag, beside a new address: refused naming it.
        clear: dict[str, Any] = {"clear_address": True}
        with pytest.raises(stripe.InvalidRequestError) as both:
            stripe.Customer.modify(customer.id, address={"line1": "2 Elm St"}, **clear)
        assert both.value.param == "address"

    await asyncio.to_thread(scenario)


async def test_a_declined_setup_confirmation_is_a_402_card_error_with_the_setup_intent(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """Stripe answers a SetupIntent confirmation the card declines as it answers a payment
    intent's: HTTP 402, a `card_error` whose `setup_intent` is the intent (stripe-python's
    CardError, `error.setup_intent`). paycore answered 200, so an integration's `except
    stripe.CardError` never ran and the buyer was told the card was saved."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="declined-setup@example.com")
        with pytest.raises(stripe.CardError) as created:
            stripe.SetupIntent.create(
                customer=customer.id, payment_method="pm_card_chargeDeclined", confirm=True
            )
        assert (created.value.code, created.value.http_status) == ("card_declined", 402)
        error = created.value.error
        assert error is not None and error.decline_code == "generic_decline"
        setup = error.setup_intent
        assert setup is not None and setup.status == "requires_payment_method"
        failure = setup.last_setup_error
        assert failure is not None and failure.code == "card_declined"
        with pytest.raises(stripe.CardError) as confirmed:
            stripe.SetupIntent.confirm(setup.id, payment_method="pm_card_chargeDeclinedExpiredCard")
        assert confirmed.value.code == "expired_card"
        retried = stripe.SetupIntent.confirm(setup.id, payment_method="pm_card_visa")
        assert (retried.status, retried.last_setup_error) == ("succeeded", None)

    await asyncio.to_thread(scenario)


async def test_a_refund_of_a_declined_charge_is_refused_and_refunds_nothing(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    """A refund names Stripe's `charge`: an intent declined once, then paid with another card,
    has two charges. `Refund.create(charge=<the declined one>)` refunded the other, paid,
    charge in full (the charge was taken for its intent); Stripe refuses it, naming `charge`,
    and so does paycore now. Its refunds list is empty, as the declined charge's `refunds`."""

    def scenario() -> None:
        intent = stripe.PaymentIntent.create(amount=2600, currency="usd")
        with pytest.raises(stripe.CardError):
            stripe.PaymentIntent.confirm(
                intent.id, payment_method="pm_card_chargeDeclinedInsufficientFunds"
            )
        paid = stripe.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")
        assert paid.status == "succeeded"
        charges = stripe.Charge.list(payment_intent=intent.id).data
        declined = [charge.id for charge in charges if charge.status == "failed"]
        assert len(declined) == 1 and declined[0] != paid.latest_charge
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.Refund.create(charge=declined[0])
        assert (refused.value.code, refused.value.param) == ("charge_not_refundable", "charge")
        assert stripe.Refund.list(payment_intent=intent.id).data == []
        assert stripe.Refund.list(charge=declined[0]).data == []
        kept = stripe.Charge.retrieve(str(paid.latest_charge))
        assert (kept.amount_refunded, kept.refunded) == (0, False)
        refund = stripe.Refund.create(charge=str(paid.latest_charge), amount=600)
        assert (refund.amount, refund.payment_intent) == (600, intent.id)
        assert [found.id for found in stripe.Refund.list(charge=str(paid.latest_charge))] == [
            refund.id
        ]
        assert stripe.Refund.list(charge=declined[0]).data == []

    await asyncio.to_thread(scenario)
    await assert_books_balance(payin.admin, stripe_module.id)
