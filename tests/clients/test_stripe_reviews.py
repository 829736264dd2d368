"""stripe-python's Reviews (Stripe's `GET /v1/reviews`, `GET /v1/reviews/{id}`, `POST
/v1/reviews/{id}/approve`) against the edge, with the merchant's own secret key: a payment
held for review is listed, read in Stripe's Review shape and approved (charged then, the
review naming its charge); another merchant sees none of it."""

from __future__ import annotations

from typing import Any, cast

import pytest
import stripe
from paycore.client import connect
from paycore.v1 import fraud_pb2

from tests.clients.conftest import EdgeMerchant, new_edge_merchant
from tests.clients.test_stripe_python import card, client, in_thread
from tests.payment.shop import PayIn, good_card

REVIEW_EVERYTHING = fraud_pb2.UpdateRiskPolicyRequest(
    rules=[
        fraud_pb2.RiskRule(
            name="review_everything",
            conditions=[fraud_pb2.RiskCondition(feature="amount_usd", above=0)],
            action=fraud_pb2.RISK_DECISION_REVIEW,
        )
    ]
)


async def test_a_held_payments_review_is_listed_read_and_approved(
    payin: PayIn, edge_merchant: EdgeMerchant, stripe_module: EdgeMerchant
) -> None:
    operator = connect(payin.target, payin.admin_token, acting_for=edge_merchant.merchant_id)
    try:
        await operator.fraud.UpdateRiskPolicy(REVIEW_EVERYTHING)
    finally:
        await operator.close()
    stranger = await new_edge_merchant(payin, edge_merchant.url, "Someone else")

    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "payment_method": card(sdk, good_card()).id,
                "confirm": True,
            }
        )
        listed = stripe.Review.list(limit=10)
        assert [review.payment_intent for review in listed.data] == [intent.id]
        review = stripe.Review.retrieve(listed.data[0].id)
        assert isinstance(review, stripe.Review)
        assert review.object == "review" and review.id.startswith("prv_")
        shape = ("open", "reason", "opened_reason", "closed_reason", "charge")
        assert {name: review[name] for name in shape} == {
            "open": True,
            "reason": "rule",
            "opened_reason": "rule",
            "closed_reason": None,
            "charge": None,  # a held payment is not charged before its approval
        }
        assert review.created > 0

        approved = stripe.Review.approve(review.id, idempotency_key=f"approve-{review.id}")
        assert (approved.open, approved.reason, approved.closed_reason) == (
            False,
            "approved",
            "approved",
        )
        again = stripe.Review.approve(review.id, idempotency_key=f"approve-{review.id}")
        assert again.to_dict() == approved.to_dict()
        charged = sdk.v1.payment_intents.retrieve(intent.id)
        assert charged.status == "succeeded"
        charge = charged.latest_charge
        assert isinstance(charge, str) and charge.startswith("ch_")
        assert stripe.Review.retrieve(review.id).charge == charge
        with pytest.raises(stripe.InvalidRequestError) as closed:
            stripe.Review.approve(review.id)
        assert closed.value.code == "review_closed" and closed.value.param == "id"

        other = client(stranger)
        assert other.v1.reviews.list().data == []
        with pytest.raises(stripe.InvalidRequestError) as hidden:
            other.v1.reviews.retrieve(review.id)
        assert hidden.value.http_status == 404 and hidden.value.param == "id"
        with pytest.raises(stripe.InvalidRequestError) as missing:
            other.v1.reviews.approve(review.id)
        assert missing.value.http_status == 404
        with pytest.raises(stripe.InvalidRequestError) as denied:  # another's: no such account
            other.v1.reviews.list(params=cast(Any, {"merchant": edge_merchant.merchant_id}))
        assert denied.value.code == "resource_missing" and denied.value.param == "merchant"

    await in_thread(scenario)
