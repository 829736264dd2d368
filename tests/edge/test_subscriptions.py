"""SubscriptionService over the REST edge: the catalogue and test clocks as Stripe's SDKs send
them (form bodies), and the routes that need billing answering 501 until it is built."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_products_and_prices_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http, "POST", "/v1/products", key=key, form="name=Gold+plan&metadata[tier]=3"
    )
    assert created.status == 200, created.body
    product = created.body
    assert product["id"].startswith("prod_") and product["active"] is True
    assert product["metadata"] == {"tier": "3"}
    read = await call(http, "GET", f"/v1/products/{product['id']}", key=key)
    assert read.status == 200 and read.body == product
    listed = await call(http, "GET", "/v1/products?active=true&limit=5", key=key)
    assert [item["id"] for item in listed.body["data"]] == [product["id"]]

    priced = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd"
        "&recurring[interval]=month&recurring[interval_count]=1",
    )
    assert priced.status == 200, priced.body
    price = priced.body
    assert price["id"].startswith("price_")
    assert (price["unit_amount"], price["currency"], price["type"]) == ("1500", "usd", "recurring")
    assert price["recurring"] == {"interval": "month", "interval_count": 1}
    read_price = await call(http, "GET", f"/v1/prices/{price['id']}", key=key)
    assert read_price.status == 200 and read_price.body == price
    prices = await call(http, "GET", f"/v1/prices?product={product['id']}", key=key)
    assert [item["id"] for item in prices.body["data"]] == [price["id"]]

    free = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        json_body={"product": product["id"], "unit_amount": "0", "currency": "usd"},
    )
    assert (free.status, free.error["param"], free.error["code"]) == (
        400,
        "unit_amount",
        "parameter_invalid",
    )
    unknown = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        json_body={"product": "prod_" + "0" * 22, "unit_amount": "5", "currency": "usd"},
    )
    assert (unknown.status, unknown.error["param"]) == (404, "product")


async def test_test_clocks_over_http(http: ClientSession, settings_admin_token: str) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/test_helpers/test_clocks",
        key=key,
        form="frozen_time=1767225600&name=Renewals",
    )
    assert created.status == 200, created.body
    clock = created.body
    assert clock["id"].startswith("clock_")
    assert (clock["frozen_time"], clock["status"]) == ("1767225600", "ready")
    read = await call(http, "GET", f"/v1/test_helpers/test_clocks/{clock['id']}", key=key)
    assert read.status == 200 and read.body == clock
    advanced = await call(
        http,
        "POST",
        f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
        key=key,
        form="frozen_time=1769904000",
    )
    assert (advanced.status, advanced.error["code"]) == (501, "method_not_implemented")


async def test_subscription_and_invoice_routes_answer_501_until_built(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    subscription, invoice = "sub_" + "1" * 22, "in_" + "1" * 22
    for method, path in [
        ("POST", "/v1/subscriptions"),
        ("GET", "/v1/subscriptions"),
        ("GET", f"/v1/subscriptions/{subscription}"),
        ("POST", f"/v1/subscriptions/{subscription}"),
        ("POST", f"/v1/subscriptions/{subscription}/cancel"),
        ("GET", "/v1/invoices"),
        ("GET", f"/v1/invoices/{invoice}"),
        ("POST", f"/v1/invoices/{invoice}/pay"),
        ("POST", f"/v1/invoices/{invoice}/void"),
    ]:
        answer = await call(http, method, path, key=key)
        assert (answer.status, answer.error["code"]) == (501, "method_not_implemented"), path
