"""Text a billing, dispute or balance object has not is null at the REST edge, as Stripe's
(nullable in its API reference), never "": a dispute's evidence fields before the merchant
gives them, a coupon's or a test clock's `name` never given, a balance transaction's
`description`, and what a balance transaction not converted has of a conversion
(`presentment_amount`, `presentment_currency`, as its `exchange_rate`), a payment intent's
`transfer_group` never given. gRPC keeps proto3's "" and 0 (paycore.stripe_json)."""

from __future__ import annotations

from paycore.dispute.models import EVIDENCE_FIELDS
from paycore.stripe_json import stripe_json
from paycore.v1 import customer_pb2, dispute_pb2, payment_pb2, subscription_pb2, wallet_pb2


def test_a_dispute_shows_the_evidence_not_given_as_null() -> None:
    rendered = stripe_json(
        dispute_pb2.Dispute(
            id="dp_1",
            amount=5000,
            currency="usd",
            evidence=dispute_pb2.DisputeEvidence(uncategorized_text="winning_evidence"),
        )
    )
    evidence = rendered["evidence"]
    assert evidence["uncategorized_text"] == "winning_evidence"
    others = {name: value for name, value in evidence.items() if name != "uncategorized_text"}
    assert len(others) == len(EVIDENCE_FIELDS) - 1 and set(others.values()) == {None}, others


def test_a_dispute_without_evidence_shows_every_field_null() -> None:
    rendered = stripe_json(
        dispute_pb2.Dispute(id="dp_1", amount=5000, evidence=dispute_pb2.DisputeEvidence())
    )
    evidence = rendered["evidence"]
    assert len(evidence) == len(EVIDENCE_FIELDS) and set(evidence.values()) == {None}, evidence


def test_a_coupon_and_a_test_clock_without_a_name_show_null() -> None:
    coupon = stripe_json(subscription_pb2.Coupon(id="co_1", percent_off="10"))
    clock = stripe_json(subscription_pb2.TestClock(id="clock_1", frozen_time=1_800_000_000))
    assert (coupon["name"], clock["name"]) == (None, None)
    named = stripe_json(subscription_pb2.TestClock(id="clock_1", name="13 months"))
    assert named["name"] == "13 months"


def test_a_balance_transaction_not_converted_shows_null_for_the_conversion() -> None:
    plain = stripe_json(
        wallet_pb2.BalanceTransaction(id="txn_1", amount=1999, currency="usd", fee=88, net=1911)
    )
    assert plain["description"] is None
    assert (plain["exchange_rate"], plain["presentment_amount"], plain["presentment_currency"]) == (
        None,
        None,
        None,
    )
    converted = stripe_json(
        wallet_pb2.BalanceTransaction(
            id="txn_2",
            amount=8000,
            currency="usd",
            exchange_rate="0.008",
            presentment_amount=10000,
            presentment_currency="jpy",
        )
    )
    assert (converted["exchange_rate"], converted["presentment_amount"]) == (0.8, 10000)
    assert converted["presentment_currency"] == "jpy"


def test_a_payment_intent_without_a_transfer_group_shows_null() -> None:
    intent = stripe_json(payment_pb2.PaymentIntent(id="pi_1", amount=700, currency="usd"))
    assert intent["transfer_group"] is None
    grouped = stripe_json(payment_pb2.PaymentIntent(id="pi_1", transfer_group="ORDER_7"))
    assert grouped["transfer_group"] == "ORDER_7"


def test_a_payment_methods_billing_details_not_given_are_null() -> None:
    """The README's first card (`POST /v1/payment_methods` with a number and expiry alone):
    Stripe's billing_details are null, each line of the address too."""
    method = stripe_json(
        customer_pb2.PaymentMethod(
            id="pm_1",
            billing_details=customer_pb2.BillingDetails(
                name="Jenny Rosen", address=customer_pb2.Address(country="US")
            ),
        )
    )
    details = method["billing_details"]
    assert (details["name"], details["email"], details["phone"]) == ("Jenny Rosen", None, None)
    assert details["address"] == {
        "line1": None,
        "line2": None,
        "city": None,
        "state": None,
        "postal_code": None,
        "country": "US",
    }
    customer = stripe_json(customer_pb2.Customer(id="cus_1", address=customer_pb2.Address()))
    assert customer["address"] is None  # no line at all: no address, as before
