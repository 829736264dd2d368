"""FraudService over the REST edge: a merchant scores payments with its secret key; operators
(admin token, Paycore-Merchant) manage the policy, blocklists, reviews and outcome labels."""

from __future__ import annotations

import time

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant
from tests.fraud.support import customer_id, fingerprint, payment_id


async def test_scoring_reviews_blocklists_policy_and_outcomes_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    admin = settings_admin_token
    merchant = await new_merchant(http, admin)
    merchant_id, secret = merchant["id"], merchant["secret_key"]
    acting = {"Paycore-Merchant": merchant_id}

    policy = await call(http, "GET", "/v1/fraud/policy", key=admin, headers=acting)
    assert policy.status == 200, policy.body
    assert (policy.body["review_above"], policy.body["block_above"]) == (500, 800)
    names = [rule["name"] for rule in policy.body["rules"]]
    assert "ip_velocity_1m" in names
    updated = await call(
        http,
        "POST",
        "/v1/fraud/policy",
        key=admin,
        headers=acting,
        json_body={
            "review_above": 400,
            "block_above": 900,
            "rules": [
                {
                    "name": "big_spender",
                    "conditions": [{"feature": "amount_usd", "above": "500000"}],
                    "action": "review",
                }
            ],
        },
    )
    assert updated.status == 200, updated.body
    assert updated.body["block_above"] == 900 and updated.body["rules"][0]["name"] == "big_spender"
    bad_rule = await call(
        http,
        "POST",
        "/v1/fraud/policy",
        key=admin,
        headers=acting,
        json_body={"rules": [{"name": "x", "conditions": [{"feature": "shoe_size"}]}]},
    )
    assert bad_rule.status == 400 and bad_rule.error["param"] == "rules[0][conditions][0][feature]"

    payment = payment_id(merchant_id)
    scored = await call(
        http,
        "POST",
        "/v1/fraud/assessments",
        key=secret,
        json_body={
            "payment": payment,
            "amount": "900000",
            "currency": "usd",
            "card_fingerprint": fingerprint(),
            "customer": customer_id(merchant_id),
            "customer_created": str(int(time.time()) - 86_400 * 700),
            "ip": "203.0.113.9",
            "email": "kim@example.com",
            "country": "US",
            "ip_country": "US",
        },
    )
    assert scored.status == 200, scored.body
    assert scored.body["decision"] == "review" and "big_spender" in scored.body["reasons"]
    review_id = scored.body["review"]
    bad = await call(
        http,
        "POST",
        "/v1/fraud/assessments",
        key=secret,
        json_body={"payment": payment, "amount": "-1", "currency": "usd"},
    )
    assert bad.status == 400 and bad.error["param"] == "amount"

    got = await call(http, "GET", f"/v1/fraud/reviews/{review_id}", key=admin)
    assert got.status == 200 and got.body["status"] == "open" and got.body["payment"] == payment
    listed = await call(
        http, "GET", f"/v1/fraud/reviews?merchant={merchant_id}&status=open", key=admin
    )
    assert [review["id"] for review in listed.body["data"]] == [review_id]
    approved = await call(
        http, "POST", f"/v1/fraud/reviews/{review_id}/approve", key=admin, json_body={"note": "ok"}
    )
    assert approved.status == 200 and approved.body["status"] == "approved"
    rejected = await call(http, "POST", f"/v1/fraud/reviews/{review_id}/reject", key=admin)
    assert rejected.status == 400 or rejected.status == 409, rejected.body
    assert rejected.error["code"] == "review_closed"

    outcome = await call(
        http,
        "POST",
        "/v1/fraud/outcomes",
        key=admin,
        headers=acting,
        json_body={"payment": payment, "label": "fraudulent", "note": "chargeback"},
    )
    assert outcome.status == 200, outcome.body
    assert outcome.body["label"] == "fraudulent" and int(outcome.body["reported"]) > 0

    added = await call(
        http,
        "POST",
        "/v1/fraud/blocklist_items",
        key=admin,
        json_body={"type": "email", "value": "Fraud@Example.com", "merchant": merchant_id},
    )
    assert added.status == 200, added.body
    assert added.body["value"] == "fraud@example.com"
    items = await call(
        http, "GET", f"/v1/fraud/blocklist_items?merchant={merchant_id}&type=email", key=admin
    )
    assert [item["id"] for item in items.body["data"]] == [added.body["id"]]
    removed = await call(http, "DELETE", f"/v1/fraud/blocklist_items/{added.body['id']}", key=admin)
    assert removed.status == 200 and removed.body["deleted"] is True
    # The merchant's own key reads its reviews, Stripe's routes and paycore's alike; rejecting
    # is the operators'.
    for path in ("/v1/reviews", "/v1/fraud/reviews"):
        own = await call(http, "GET", path, key=secret)
        assert [review["id"] for review in own.body["data"]] == [review_id], own.body
    own_review = await call(http, "GET", f"/v1/reviews/{review_id}", key=secret)
    assert own_review.body["object"] == "review" and own_review.body["open"] is False
    closed = await call(http, "POST", f"/v1/reviews/{review_id}/approve", key=secret)
    assert closed.status == 400 and closed.error["code"] == "review_closed", closed.body
    merchant_reject = await call(http, "POST", f"/v1/fraud/reviews/{review_id}/reject", key=secret)
    assert merchant_reject.status == 403


async def test_an_operator_acting_for_a_merchant_adds_that_merchants_blocklist_item(
    http: ClientSession, settings_admin_token: str
) -> None:
    """`POST /v1/fraud/blocklist_items` without `merchant`, with Paycore-Merchant: the named
    merchant's item; without the header either, platform-wide (`merchant: null`)."""
    admin = settings_admin_token
    merchant_id = (await new_merchant(http, admin))["id"]
    acting = {"Paycore-Merchant": merchant_id}
    value = f"{merchant_id}@example.com"

    added = await call(
        http,
        "POST",
        "/v1/fraud/blocklist_items",
        key=admin,
        headers=acting,
        form=f"type=email&value={value}",
    )

    assert added.status == 200, added.body
    assert added.body["merchant"] == merchant_id
    listed = await call(
        http, "GET", f"/v1/fraud/blocklist_items?merchant={merchant_id}&type=email", key=admin
    )
    assert [item["id"] for item in listed.body["data"]] == [added.body["id"]]
    platform = await call(
        http, "POST", "/v1/fraud/blocklist_items", key=admin, form=f"type=email&value=p.{value}"
    )
    assert (platform.status, platform.body["merchant"]) == (200, None)
    for item in (added.body, platform.body):
        removed = await call(http, "DELETE", f"/v1/fraud/blocklist_items/{item['id']}", key=admin)
        assert removed.status == 200, removed.body


async def test_a_removed_blocklist_item_reads_as_a_deleted_object(
    http: ClientSession, settings_admin_token: str
) -> None:
    """DELETE answers Stripe's deleted object, `object` included, as every other delete of
    the edge does (a customer's, a coupon's); the blocklist item's had no `object`."""
    admin = settings_admin_token
    merchant_id = (await new_merchant(http, admin))["id"]
    acting = {"Paycore-Merchant": merchant_id}
    added = await call(
        http,
        "POST",
        "/v1/fraud/blocklist_items",
        key=admin,
        headers=acting,
        form="type=ip&value=203.0.113.77",
    )
    assert added.status == 200, added.body
    item = added.body["id"]
    removed = await call(http, "DELETE", f"/v1/fraud/blocklist_items/{item}", key=admin)
    assert removed.status == 200, removed.body
    assert removed.body == {"id": item, "object": "blocklist_item", "deleted": True}
