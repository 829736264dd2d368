"""Stripe API surface a stripe-python probe found missing at the REST edge: a refund's `charge`
and `balance_transaction`, `Customer.retrieve_payment_method`, `Subscription.delete_discount`,
an intent updated while `requires_action` keeping its `return_url`, and `Charge.capture`."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.v1 import account_pb2

from tests.payment.shop import PayIn


async def test_a_refund_names_its_charge_and_balance_transaction(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        intent = stripe.PaymentIntent.create(
            amount=2500, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        charge_id = str(intent.latest_charge)
        assert charge_id.startswith("ch_")
        refund = stripe.Refund.create(
            payment_intent=intent.id, amount=1000, idempotency_key="re-gaps-1"
        )
        assert refund.status == "succeeded"
        assert refund.charge == charge_id
        txn = str(refund.balance_transaction)
        assert txn.startswith("txn_")
        posted = stripe.BalanceTransaction.retrieve(txn)
        assert (posted.type, posted.amount, posted.source) == ("refund", -1000, refund.id)
        assert stripe.Refund.retrieve(refund.id).balance_transaction == txn
        [listed] = stripe.Refund.list(payment_intent=intent.id).data
        assert (listed.charge, listed.balance_transaction) == (charge_id, txn)
        [of_charge] = stripe.Refund.list(charge=charge_id).data
        assert of_charge.charge == charge_id
        modified = stripe.Refund.modify(refund.id, metadata={"note": "late"})
        assert (modified.charge, modified.balance_transaction) == (charge_id, txn)
        charge_refunds = stripe.Charge.retrieve(charge_id).refunds
        assert charge_refunds is not None
        inline = charge_refunds.data[0]
        assert (inline.charge, inline.balance_transaction) == (charge_id, txn)
        created = stripe.Event.list(type="refund.created").data[0].data.object
        assert (created.charge, created.balance_transaction) == (charge_id, None)
        updated = stripe.Event.list(type="refund.updated").data
        assert [event.data.object.balance_transaction for event in updated][-1] == txn
        assert updated[0].data.object.charge == charge_id

    await asyncio.to_thread(scenario)


async def test_a_customer_s_payment_method_retrieved(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        ada = stripe.Customer.create(email="ada@example.com")
        bob = stripe.Customer.create(email="bob@example.com")
        method = stripe.PaymentMethod.attach("pm_card_visa", customer=ada.id)
        other = stripe.PaymentMethod.attach("pm_card_mastercard", customer=bob.id)

        found = stripe.Customer.retrieve_payment_method(ada.id, method.id)

        assert isinstance(found, stripe.PaymentMethod)
        assert found.card is not None
        assert (found.id, found.customer, found.card.last4) == (method.id, ada.id, "4242")
        detached = stripe.PaymentMethod.detach(
            stripe.PaymentMethod.attach("pm_card_amex", customer=ada.id).id
        )
        for payment_method in (other.id, detached.id):  # Bob's, nobody's
            with pytest.raises(stripe.InvalidRequestError) as missing:
                stripe.Customer.retrieve_payment_method(ada.id, payment_method)
            assert missing.value.http_status == 404
            assert (missing.value.code, missing.value.param) == (
                "resource_missing",
                "payment_method",
            )
        gone = stripe.Customer.create(email="gone@example.com").id
        stripe.Customer.delete(gone)
        with pytest.raises(stripe.InvalidRequestError) as no_customer:
            stripe.Customer.retrieve_payment_method(gone, method.id)
        assert (no_customer.value.http_status, no_customer.value.param) == (404, "customer")

    await asyncio.to_thread(scenario)


async def test_a_subscription_s_discount_deleted(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        customer = stripe.Customer.create(email="ada@example.com")
        method = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
        product = stripe.Product.create(name="Plan")
        price = stripe.Price.create(
            unit_amount=2000, currency="usd", recurring={"interval": "month"}, product=product.id
        )
        coupon = stripe.Coupon.create(percent_off=25, duration="forever", id="QUARTER")
        subscription = stripe.Subscription.create(
            customer=customer.id,
            items=[{"price": price.id}],
            default_payment_method=method.id,
            discounts=[{"coupon": coupon.id}],
        )
        assert subscription["discount"] is not None
        discount_id = subscription["discount"].id
        assert subscription.discounts == [discount_id]

        deleted = stripe.Subscription.delete_discount(
            subscription.id, idempotency_key="del-discount-1"
        )

        assert isinstance(deleted, stripe.Discount)
        assert (deleted.id, deleted.object, deleted.deleted) == (discount_id, "discount", True)
        assert deleted.subscription == subscription.id
        again = stripe.Subscription.delete_discount(
            subscription.id, idempotency_key="del-discount-1"
        )
        assert again.id == discount_id  # the replay answers the first
        after = stripe.Subscription.retrieve(subscription.id)
        assert (after["discount"], after.discounts) == (None, [])
        [event] = stripe.Event.list(type="customer.discount.deleted").data
        assert event.data.object.id == discount_id
        with pytest.raises(stripe.InvalidRequestError) as none_left:
            stripe.Subscription.delete_discount(subscription.id)
        assert (none_left.value.http_status, none_left.value.code) == (404, "resource_missing")

    await asyncio.to_thread(scenario)


async def test_an_uncaptured_charge_captured_by_its_ch_id(
    stripe_module: account_pb2.Merchant, payin: PayIn
) -> None:
    def scenario() -> None:
        intent = stripe.PaymentIntent.create(
            amount=3000,
            currency="usd",
            payment_method="pm_card_visa",
            capture_method="manual",
            confirm=True,
        )
        assert intent.status == "requires_capture"
        charge_id = str(intent.latest_charge)
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            stripe.Charge.capture(charge_id, amount=3001)
        assert too_much.value.param == "amount"

        captured = stripe.Charge.capture(charge_id, amount=1800, idempotency_key="ch-cap-1")

        assert isinstance(captured, stripe.Charge)
        assert (captured.id, captured.captured, captured.amount_captured) == (charge_id, True, 1800)
        assert str(captured.balance_transaction).startswith("txn_")
        again = stripe.Charge.capture(charge_id, amount=1800, idempotency_key="ch-cap-1")
        assert again.to_dict() == captured.to_dict()  # the replay answers the first
        after = stripe.PaymentIntent.retrieve(intent.id)
        assert (after.status, after.amount_received) == ("succeeded", 1800)
        with pytest.raises(stripe.InvalidRequestError) as twice:
            stripe.Charge.capture(charge_id)
        assert (twice.value.code, twice.value.param) == ("charge_already_captured", "id")

    await asyncio.to_thread(scenario)
