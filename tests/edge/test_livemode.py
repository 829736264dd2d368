"""Stripe's `livemode` on every object the edge answers and every webhook body: stripe-python
raised AttributeError reading `intent.livemode` or `event.livemode` (deploy/edge.md listed it
as absent). It is the mode of the merchant the object belongs to, which is its keys' mode."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession

from tests.edge.helpers import call, charge, new_merchant
from tests.payment.shop import PayIn, good_card


def objects_in(rendered: Any) -> list[dict[str, Any]]:
    """Every dict inside `rendered` whose `object` names its kind (lists' envelopes
    included; not an event's `data`, whose `object` is the object itself)."""
    found: list[dict[str, Any]] = []
    if isinstance(rendered, list):
        for item in rendered:
            found += objects_in(item)
    elif isinstance(rendered, dict):
        if isinstance(rendered.get("object"), str):
            found.append(rendered)
        for key, item in rendered.items():
            if key != "metadata":
                found += objects_in(item)
    return found


async def test_every_object_carries_its_merchants_mode(
    http: ClientSession, settings_admin_token: str
) -> None:
    test = await new_merchant(http, settings_admin_token)
    live = await new_merchant(http, settings_admin_token, livemode=True)
    assert test["secret_key"].startswith("sk_test_") and live["secret_key"].startswith("sk_live_")
    for merchant, livemode in ((test, False), (live, True)):
        key = merchant["secret_key"]
        body = {"email": "a@example.com", "metadata": {"object": "mine"}}
        customer = await call(http, "POST", "/v1/customers", key=key, json_body=body)
        assert customer.status == 200, customer.body
        assert customer.body["livemode"] is livemode
        assert customer.body["metadata"] == {"object": "mine"}  # a merchant's own, untouched
        listed = await call(http, "GET", "/v1/customers", key=key)
        assert listed.body["object"] == "list" and "livemode" not in listed.body
        assert [found["livemode"] for found in listed.body["data"]] == [livemode]
        balance = await call(http, "GET", "/v1/balance", key=key)
        assert (balance.body["object"], balance.body["livemode"]) == ("balance", livemode)
        events = await call(http, "GET", "/v1/events?type=customer.created", key=key)
        [event] = events.body["data"]
        assert (event["livemode"], event["data"]["object"]["livemode"]) == (livemode, livemode)
        for found in objects_in([customer.body, balance.body, event]):
            assert found.get("livemode") is livemode, found


async def test_a_test_mode_payment_says_livemode_false_everywhere(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    paid = await charge(http, key, 1500, good_card(), payin.run_worker_once)
    read = await call(http, "GET", f"/v1/payment_intents/{paid}?expand[]=latest_charge", key=key)
    assert read.status == 200, read.body
    assert read.body["latest_charge"]["object"] == "charge"  # expanded, then marked too
    everything = [found for found in objects_in(read.body) if found["object"] != "list"]
    assert len(everything) >= 2
    assert [found["livemode"] for found in everything] == [False] * len(everything)
