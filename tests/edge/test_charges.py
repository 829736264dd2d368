"""Charges over HTTP as a Stripe user reads them: GET /v1/charges/{id} of an intent's
latest_charge, GET /v1/charges with its filters, created range and cursors, the errors."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.edge.helpers import call, card_method, charge, new_merchant
from tests.payment.shop import PayIn, good_card


async def test_charges_read_and_listed_over_http(payin_http: ClientSession, payin: PayIn) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    other_key = (await new_merchant(http, payin.admin_token))["secret_key"]
    paid = await charge(http, key, 1500, good_card(), payin.run_worker_once)
    intent = (await call(http, "GET", f"/v1/payment_intents/{paid}", key=key)).body
    declined_method = await card_method(http, key, cards.CARD_DECLINED)
    declined = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=900&currency=usd&confirm=true&payment_method={declined_method}",
    )
    assert declined.status == 402, declined.body

    read = await call(http, "GET", f"/v1/charges/{intent['latest_charge']}", key=key)
    assert read.status == 200, read.body
    body = read.body
    assert (body["object"], body["id"], body["payment_intent"]) == (
        "charge",
        intent["latest_charge"],
        paid,
    )
    assert (body["status"], body["amount"], body["paid"], body["captured"]) == (
        "succeeded",
        1500,
        True,
        True,
    )
    assert (body["failure_code"], body["failure_message"], body["dispute"]) == (None, None, None)
    assert body["refunds"] == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/refunds?payment_intent={paid}",
    }
    assert body["outcome"]["type"] == "authorized"
    assert body["payment_method_details"]["card"]["brand"] == "visa"

    listed = await call(http, "GET", "/v1/charges?limit=1", key=key)
    assert listed.status == 200, listed.body
    assert (listed.body["object"], listed.body["url"], listed.body["has_more"]) == (
        "list",
        "/v1/charges",
        True,
    )
    (failed,) = listed.body["data"]
    assert (failed["status"], failed["failure_code"]) == ("failed", "card_declined")
    assert failed["outcome"]["reason"] == "generic_decline"
    following = await call(http, "GET", f"/v1/charges?starting_after={failed['id']}", key=key)
    assert [each["id"] for each in following.body["data"]] == [body["id"]]
    since = body["created"]
    ranged = await call(http, "GET", f"/v1/charges?created[gt]={since + 3600}", key=key)
    assert ranged.body["data"] == []
    by_intent = await call(http, "GET", f"/v1/charges?payment_intent={paid}", key=key)
    assert [each["id"] for each in by_intent.body["data"]] == [body["id"]]

    missing = await call(http, "GET", f"/v1/charges/{body['id']}", key=other_key)
    assert (missing.status, missing.error["code"], missing.error["param"]) == (
        404,
        "resource_missing",
        "id",
    )
    filtered = await call(http, "GET", f"/v1/charges?payment_intent={paid}", key=other_key)
    assert (filtered.status, filtered.error["code"], filtered.error["param"]) == (
        400,
        "resource_missing",
        "payment_intent",
    )
    malformed = await call(http, "GET", "/v1/charges/pi_123", key=key)
    assert (malformed.status, malformed.error["code"], malformed.error["param"]) == (
        404,
        "resource_missing",
        "id",
    )
    both = await call(
        http, "GET", f"/v1/charges?starting_after={body['id']}&ending_before={body['id']}", key=key
    )
    assert (both.status, both.error["param"]) == (400, "ending_before")


async def test_charges_searched_over_http(payin_http: ClientSession, payin: PayIn) -> None:
    """Stripe's Charge.search: GET /v1/charges/search?query=..., a search_result paged by
    next_page; not taken for GET /v1/charges/{id}."""
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    small = await charge(http, key, 1200, good_card(), payin.run_worker_once)
    large = await charge(http, key, 5100, good_card(), payin.run_worker_once)
    charges = {}
    for intent in (small, large):
        read = await call(http, "GET", f"/v1/payment_intents/{intent}", key=key)
        charges[intent] = read.body["latest_charge"]

    found = await call(
        http,
        "GET",
        "/v1/charges/search?query=" + quote('status:"succeeded" AND amount>=5000'),
        key=key,
    )
    assert found.status == 200, found.body
    assert found.body["object"] == "search_result"
    assert [each["id"] for each in found.body["data"]] == [charges[large]]
    assert found.body["data"][0]["object"] == "charge"

    first = await call(
        http, "GET", "/v1/charges/search?limit=1&query=" + quote('currency:"usd"'), key=key
    )
    assert (first.body["has_more"], first.body["next_page"]) == (True, charges[large])
    rest = await call(
        http,
        "GET",
        f"/v1/charges/search?limit=1&page={first.body['next_page']}&query="
        + quote('currency:"usd"'),
        key=key,
    )
    assert [each["id"] for each in rest.body["data"]] == [charges[small]]
    assert (rest.body["has_more"], rest.body["next_page"]) == (False, None)

    bad = await call(http, "GET", "/v1/charges/search?query=" + quote("refunded:true"), key=key)
    assert (bad.status, bad.error["param"]) == (400, "query")
