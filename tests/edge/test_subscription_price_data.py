"""Stripe's subscription items with price_data over the REST edge, as stripe-python sends
Subscription.create(items=[{"price_data": {...}}]) and Subscription.modify: nested form fields
(`items[0][price_data][recurring][interval]=month`); the item bills a price made inline."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_subscription_items_with_price_data_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    data = (
        f"items[0][price_data][currency]=usd&items[0][price_data][product]={product['id']}"
        "&items[0][price_data][unit_amount]=1700&items[0][price_data][recurring][interval]=month"
    )
    created = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={customer['id']}&{data}&items[0][quantity]=2&trial_period_days=3",
    )
    assert created.status == 200, created.body
    (item,) = created.body["items"]["data"]
    assert item["quantity"] == 2
    price = (await call(http, "GET", f"/v1/prices/{item['price']['id']}", key=key)).body
    assert item["price"] == price  # the Price object, as Stripe renders an item's price
    assert (price["unit_amount"], price["currency"], price["product"], price["active"]) == (
        1700,
        "usd",
        product["id"],
        False,
    )
    assert price["recurring"] == {"interval": "month", "interval_count": 1}

    moved = await call(
        http,
        "POST",
        f"/v1/subscriptions/{created.body['id']}",
        key=key,
        form=f"items[0][id]={item['id']}&{data.replace('1700', '2100')}",
    )
    assert moved.status == 200, moved.body
    (after,) = moved.body["items"]["data"]
    assert after["id"] == item["id"] and after["price"]["id"] != item["price"]["id"]
    again = (await call(http, "GET", f"/v1/prices/{after['price']['id']}", key=key)).body
    assert again["unit_amount"] == 2100

    both = await call(
        http,
        "POST",
        "/v1/subscriptions",
        key=key,
        form=f"customer={customer['id']}&{data}&items[0][price]={item['price']['id']}",
    )
    assert (both.status, both.error["param"]) == (400, "items[0][price_data]")
