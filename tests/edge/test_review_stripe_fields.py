"""A review read over the REST edge carries Stripe's Review fields besides paycore's own
(`status`, `payment`): `open`, `payment_intent` (the held intent, null for a payment scored
with ScorePayment alone), `opened_reason`, `reason` and `closed_reason`, so code written for
Stripe's `review.opened` / `review.closed` (`if review.open:`, `review.payment_intent`,
`review.closed_reason == "approved"`) reads them."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.ids import Prefix, logical_shard_of, new_id

from tests.edge.helpers import call, new_merchant
from tests.fraud.support import payment_id

POLICY = {
    "rules": [
        {
            "name": "hold_everything",
            "conditions": [{"feature": "amount_usd", "above": "0"}],
            "action": "review",
        }
    ]
}


async def held(http: ClientSession, secret: str, payment: str) -> str:
    scored = await call(
        http,
        "POST",
        "/v1/fraud/assessments",
        key=secret,
        json_body={"payment": payment, "amount": "5000", "currency": "usd"},
    )
    assert scored.status == 200, scored.body
    assert scored.body["decision"] == "review", scored.body
    review: str = scored.body["review"]
    return review


async def test_a_review_reads_as_stripes_open_then_closed(
    http: ClientSession, settings_admin_token: str
) -> None:
    admin = settings_admin_token
    merchant = await new_merchant(http, admin)
    merchant_id, secret = merchant["id"], merchant["secret_key"]
    acting = {"Paycore-Merchant": merchant_id}
    policy = await call(
        http, "POST", "/v1/fraud/policy", key=admin, headers=acting, json_body=POLICY
    )
    assert policy.status == 200, policy.body

    intent = new_id(Prefix.PAYMENT_INTENT, logical_shard_of(merchant_id, Prefix.ACCOUNT))
    first = await held(http, secret, intent)
    opened = await call(http, "GET", f"/v1/fraud/reviews/{first}", key=admin)
    assert opened.status == 200, opened.body
    stripe_fields = ("open", "payment_intent", "opened_reason", "reason", "closed_reason")
    assert {name: opened.body[name] for name in stripe_fields} == {
        "open": True,
        "payment_intent": intent,
        "opened_reason": "rule",
        "reason": "rule",
        "closed_reason": None,
    }
    approved = await call(http, "POST", f"/v1/fraud/reviews/{first}/approve", key=admin)
    assert approved.status == 200, approved.body
    assert {name: approved.body[name] for name in stripe_fields} == {
        "open": False,
        "payment_intent": intent,
        "opened_reason": "rule",
        "reason": "approved",
        "closed_reason": "approved",
    }

    # A payment scored alone (ScorePayment's pay_...) has no intent; a rejection cancels.
    second = await held(http, secret, payment_id(merchant_id))
    rejected = await call(http, "POST", f"/v1/fraud/reviews/{second}/reject", key=admin)
    assert rejected.status == 200, rejected.body
    assert {name: rejected.body[name] for name in stripe_fields} == {
        "open": False,
        "payment_intent": None,
        "opened_reason": "rule",
        "reason": "canceled",
        "closed_reason": "canceled",
    }
    listed = await call(http, "GET", f"/v1/fraud/reviews?merchant={merchant_id}", key=admin)
    assert [review["open"] for review in listed.body["data"]] == [False, False]
