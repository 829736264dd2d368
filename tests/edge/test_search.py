"""Stripe's Search API over HTTP: GET /v1/customers/search and /v1/payment_intents/search
answer Stripe's search_result ({object, data, has_more, next_page, url}); a bad query is 400
naming `query`."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import ClientSession

from tests.edge.helpers import call, charge, new_merchant
from tests.payment.shop import PayIn, good_card


async def test_customers_and_payment_intents_searched_over_http(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    ada, bob = [
        (await call(http, "POST", "/v1/customers", key=key, form=form)).body
        for form in ("email=ada%40shop.test&name=Ada&metadata[tier]=gold", "email=bob%40shop.test")
    ]
    paid = await charge(http, key, 1200, good_card(), payin.run_worker_once)

    by_email = await call(
        http, "GET", "/v1/customers/search?query=" + quote('email:"ada@shop.test"'), key=key
    )
    assert by_email.status == 200, by_email.body
    assert by_email.body == {
        "object": "search_result",
        "data": [ada],
        "has_more": False,
        "url": "/v1/customers/search",
        "next_page": None,
    }
    paged = await call(
        http, "GET", "/v1/customers/search?limit=1&query=" + quote('email~"shop.test"'), key=key
    )
    assert ([each["id"] for each in paged.body["data"]], paged.body["next_page"]) == (
        [bob["id"]],
        bob["id"],
    )
    rest = await call(
        http,
        "GET",
        f"/v1/customers/search?limit=1&page={bob['id']}&query=" + quote('email~"shop.test"'),
        key=key,
    )
    assert [each["id"] for each in rest.body["data"]] == [ada["id"]]
    gold = await call(
        http, "GET", "/v1/customers/search?query=" + quote('metadata["tier"]:"gold"'), key=key
    )
    assert [each["id"] for each in gold.body["data"]] == [ada["id"]]

    intents = await call(
        http,
        "GET",
        "/v1/payment_intents/search?query=" + quote('status:"succeeded" AND amount:1200'),
        key=key,
    )
    assert intents.status == 200, intents.body
    assert intents.body["object"] == "search_result"
    assert [each["id"] for each in intents.body["data"]] == [paid]

    bad = await call(http, "GET", "/v1/payment_intents/search?query=" + quote("status:"), key=key)
    assert (bad.status, bad.error["param"], bad.error["type"]) == (
        400,
        "query",
        "invalid_request_error",
    )
    assert "character" in bad.error["message"]
