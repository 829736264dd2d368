"""stripe-python's Charges against the edge: `stripe.Charge.retrieve(intent.latest_charge)`
after a confirmation, the refunds it shows, `Charge.list(payment_intent=...)`, a dispute of
`pm_card_createDispute` shown on its charge, `expand=["latest_charge"]` on the intent, and the
404 of an unknown or another merchant's charge."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant, StripeWorld, new_edge_merchant
from tests.clients.test_stripe_python import client, in_thread
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.payment.shop import PayIn


async def test_the_latest_charge_retrieved_refunded_and_listed(
    payin: PayIn, edge_merchant: EdgeMerchant
) -> None:
    other = await new_edge_merchant(payin, edge_merchant.url, name="Another")

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"order": "7"},
            }
        )
        assert intent.status == "succeeded" and isinstance(intent.latest_charge, str)

        charge = sdk.v1.charges.retrieve(intent.latest_charge)
        assert isinstance(charge, stripe.Charge) and charge.object == "charge"
        assert (charge.id, charge.payment_intent, charge.status) == (
            intent.latest_charge,
            intent.id,
            "succeeded",
        )
        assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (2000, 2000, 0)
        assert (charge.paid, charge.captured, charge.refunded, charge.disputed) == (
            True,
            True,
            False,
            False,
        )
        assert charge.payment_method == intent.payment_method
        details = charge.payment_method_details
        assert details is not None and details.card is not None
        assert (details.type, details.card.brand, details.card.last4) == ("card", "visa", "4242")
        assert details.card["wallet"] is None  # a card typed in, not a wallet token
        assert isinstance(charge.balance_transaction, str)
        assert charge.balance_transaction.startswith("txn_")
        assert charge.outcome is not None and charge.outcome.network_status == "approved_by_network"
        assert (charge.failure_code, charge["dispute"]) == (None, None)
        assert charge.metadata is not None and charge.metadata.to_dict() == {"order": "7"}
        assert charge.refunds is not None and charge.refunds.data == []

        refund = sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500})
        refunded = sdk.v1.charges.retrieve(intent.latest_charge)
        assert (refunded.amount_refunded, refunded.refunded) == (500, False)
        assert refunded.refunds is not None
        assert [each.id for each in refunded.refunds.data] == [refund.id]

        listed = sdk.v1.charges.list(params={"payment_intent": intent.id})
        assert [each.id for each in listed.data] == [charge.id] and not listed.has_more
        expanded = sdk.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge"]})
        assert isinstance(expanded.latest_charge, stripe.Charge)
        assert expanded.latest_charge.amount_refunded == 500

        for charge_id, sdk_of in (
            ("ch_NoSuchChargeAtAll12345", sdk),
            (intent.latest_charge, client(other)),
        ):
            with pytest.raises(stripe.InvalidRequestError) as missing:
                sdk_of.v1.charges.retrieve(charge_id)
            assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
            assert missing.value.param == "id"
        with pytest.raises(stripe.InvalidRequestError) as filtered:
            client(other).v1.charges.list(params={"payment_intent": intent.id})
        assert (filtered.value.http_status, filtered.value.code, filtered.value.param) == (
            400,
            "resource_missing",
            "payment_intent",
        )

    await in_thread(scenario)


async def test_a_disputed_charge_and_a_declined_one(stripe_merchant: StripeWorld) -> None:
    world = stripe_merchant.world

    def pay() -> tuple[stripe.PaymentIntent, str]:
        disputed = stripe.PaymentIntent.create(
            amount=3000, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
        with pytest.raises(stripe.CardError) as declined:
            stripe.PaymentIntent.create(
                amount=900, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True
            )
        error = declined.value.error
        failed = None if error is None else error.payment_intent
        assert failed is not None
        return disputed, failed.id

    disputed, failed_intent = await in_thread(pay)
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)  # the buyer's bank opens the dispute
    await read_feed(world)

    def read() -> None:
        [dispute] = stripe.Dispute.list(payment_intent=disputed.id).data
        charge = stripe.Charge.retrieve(str(disputed.latest_charge))
        assert (charge.disputed, charge["dispute"], dispute.charge) == (True, dispute.id, charge.id)
        [failed] = stripe.Charge.list(payment_intent=failed_intent).data
        assert (failed.status, failed.paid, failed.failure_code) == (
            "failed",
            False,
            "card_declined",
        )
        assert failed.outcome is not None
        assert (failed.outcome.type, failed.outcome.reason) == (
            "issuer_declined",
            "generic_decline",
        )

    await in_thread(read)


async def test_a_refund_names_its_charge(edge_merchant: EdgeMerchant) -> None:
    """Stripe's `Refund.create(charge=...)` and `Refund.list(charge=...)`: the charge's intent
    is refunded; a charge the merchant has not is 400 resource_missing naming `charge`."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        assert isinstance(intent.latest_charge, str)
        refund = sdk.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 500})
        assert (refund.payment_intent, refund.amount) == (intent.id, 500)
        listed = sdk.v1.refunds.list(params={"charge": intent.latest_charge})
        assert [each.id for each in listed.data] == [refund.id]
        charge = sdk.v1.charges.retrieve(intent.latest_charge)
        assert charge.amount_refunded == 500

        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.refunds.create(params={"charge": "ch_NoSuchCharge000000000000"})
        assert (refused.value.http_status, refused.value.code, refused.value.param) == (
            400,
            "resource_missing",
            "charge",
        )

    await in_thread(scenario)


async def test_a_refund_by_charge_is_refused_naming_charge(stripe_merchant: StripeWorld) -> None:
    """`Refund.create(charge=...)` refused because the charge was refunded in full already or
    is disputed: the error names `charge`, the field the caller sent, not the payment intent
    paycore found behind it."""
    world = stripe_merchant.world

    def pay() -> tuple[stripe.PaymentIntent, stripe.PaymentIntent]:
        disputed = stripe.PaymentIntent.create(
            amount=3000, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
        paid = stripe.PaymentIntent.create(
            amount=1200, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        stripe.Refund.create(charge=str(paid.latest_charge))
        with pytest.raises(stripe.InvalidRequestError) as again:
            stripe.Refund.create(charge=str(paid.latest_charge))
        assert (again.value.http_status, again.value.code, again.value.param) == (
            400,
            "charge_already_refunded",
            "charge",
        )
        return disputed, paid

    disputed, paid = await in_thread(pay)
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)  # the buyer's bank opens the dispute
    await read_feed(world)

    def refund_disputed() -> None:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.Refund.create(charge=str(disputed.latest_charge), amount=100)
        assert (refused.value.code, refused.value.param) == ("charge_disputed", "charge")
        # Named by its intent, the same refusals still name `payment_intent`.
        with pytest.raises(stripe.InvalidRequestError) as by_intent:
            stripe.Refund.create(payment_intent=disputed.id, amount=100)
        assert (by_intent.value.code, by_intent.value.param) == (
            "charge_disputed",
            "payment_intent",
        )
        with pytest.raises(stripe.InvalidRequestError) as refunded:
            stripe.Refund.create(payment_intent=paid.id)
        assert refunded.value.param == "payment_intent"

    await in_thread(refund_disputed)
