"""Stripe's `created[gt|gte|lt|lte]` on the lists a Stripe user filters by date
(`PaymentIntent.list(created={"gte": ...})`): each bound compared with the object's `created`,
those given all applying, a bad one a 400 naming it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession

from tests.edge.helpers import call, charge, new_merchant
from tests.payment.shop import PayIn, good_card


async def _objects(http: ClientSession, key: str, payin: PayIn) -> dict[str, dict[str, Any]]:
    """One object of each filtered list, by its list's path."""
    intent = await charge(http, key, 2000, good_card(), payin.run_worker_once)
    refund = await call(
        http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intent}&amount=500"
    )
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd&recurring[interval]=month",
    )
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body
    items = f"customer={customer['id']}&items[0][price]={price.body['id']}&trial_period_days=3"
    subscription = await call(http, "POST", "/v1/subscriptions", key=key, form=items)
    invoice = await call(
        http, "GET", f"/v1/invoices/{subscription.body['latest_invoice']}", key=key
    )
    read = await call(http, "GET", f"/v1/payment_intents/{intent}", key=key)
    transactions = await call(http, "GET", f"/v1/balance_transactions?source={intent}", key=key)
    [transaction] = transactions.body["data"]
    return {
        "/v1/payment_intents": read.body,
        "/v1/refunds": refund.body,
        "/v1/customers": customer,
        "/v1/subscriptions": subscription.body,
        "/v1/invoices": invoice.body,
        "/v1/balance_transactions": transaction,
    }


async def test_lists_take_stripes_created_range(payin_http: ClientSession, payin: PayIn) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    for path, made in (await _objects(http, key, payin)).items():
        created = made["created"]
        # The charge's own row, not its refund's, which may share its second.
        only = "type=charge&" if path.endswith("balance_transactions") else ""

        async def listed(query: str, path: str = f"{path}?{only}") -> list[str]:
            answer = await call(http, "GET", f"{path}{query}", key=key)
            assert answer.status == 200, (path, query, answer.body)
            return [item["id"] for item in answer.body["data"]]

        found: list[str] = [made["id"]]
        none: list[str] = []
        assert await listed(f"created[gte]={created}") == found, path
        assert await listed(f"created[lte]={created}") == found, path
        assert await listed(f"created[gte]={created}&created[lte]={created}") == found, path
        assert await listed(f"created[gt]={created}") == none, path
        assert await listed(f"created[lt]={created}") == none, path
        assert await listed(f"created[gt]={created - 1}&created[lt]={created + 1}") == found
        assert await listed(f"created[gt]={created - 1}&created[lt]={created}") == none, path
        assert await listed(f"created={created}") == found, path
        assert await listed(f"created={created - 1}") == none, path
        assert await listed(f"created={created + 1}") == none, path


@pytest.mark.parametrize(
    "path",
    [
        "/v1/payment_intents",
        "/v1/refunds",
        "/v1/customers",
        "/v1/subscriptions",
        "/v1/invoices",
        "/v1/payouts",
        "/v1/balance_transactions",
        "/v1/products",
        "/v1/prices",
        "/v1/accounts",
        "/v1/api_keys",
        "/v1/payment_methods",
        "/v1/checkout/sessions",
        "/v1/disputes",
        "/v1/payments",
        "/v1/bank_accounts",
        "/v1/webhook_endpoints",
        "/v1/webhook_deliveries",
        "/v1/test_helpers/test_clocks",
        "/v1/events",
    ],
)
async def test_a_bad_created_bound_is_refused_naming_it(
    http: ClientSession, settings_admin_token: str, path: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    negative = await call(http, "GET", f"{path}?created[gt]=-1", key=key)
    assert (negative.status, negative.error["param"]) == (400, "created[gt]"), negative.body
    late = await call(http, "GET", f"{path}?created[lte]=253402300800", key=key)
    assert (late.status, late.error["param"]) == (400, "created[lte]"), late.body
    bare_negative = await call(http, "GET", f"{path}?created=-1", key=key)
    assert (bare_negative.status, bare_negative.error["param"]) == (400, "created")
    not_seconds = await call(http, "GET", f"{path}?created=soon", key=key)
    assert (not_seconds.status, not_seconds.error["param"]) == (400, "created")
    # Stripe's bare `created=<seconds>`: created exactly at that second.
    bare = await call(http, "GET", f"{path}?created=1767225600", key=key)
    assert (bare.status, bare.body["data"]) == (200, []), bare.body


async def _more_objects(http: ClientSession, key: str) -> dict[str, dict[str, Any]]:
    """One object of each list that took no `created` range before, by its list's path."""
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd",
    )
    seller = await call(
        http,
        "POST",
        "/v1/accounts",
        key=key,
        json_body={"email": "a@seller.test", "country": "DE", "default_currency": "eur"},
    )
    card = "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034"
    method = await call(http, "POST", "/v1/payment_methods", key=key, form=card)
    clock = await call(
        http, "POST", "/v1/test_helpers/test_clocks", key=key, form="frozen_time=1767225600"
    )
    session = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form="currency=usd&line_items[0][name]=Mug&line_items[0][unit_amount]=1200"
        "&line_items[0][quantity]=1&success_url=https://shop.test/ok",
    )
    return {
        "/v1/products": product,
        "/v1/prices": price.body,
        "/v1/accounts": seller.body,
        "/v1/payment_methods": method.body,
        "/v1/test_helpers/test_clocks": clock.body,
        "/v1/checkout/sessions": session.body,
    }


async def test_the_other_lists_take_the_created_range_too(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    for path, made in (await _more_objects(http, key)).items():
        assert "id" in made, (path, made)
        created = made["created"]

        async def listed(query: str, path: str = path) -> list[str]:
            answer = await call(http, "GET", f"{path}?{query}", key=key)
            assert answer.status == 200, (path, query, answer.body)
            return [item["id"] for item in answer.body["data"]]

        assert await listed(f"created[gte]={created}") == [made["id"]], path
        assert await listed(f"created[gt]={created}") == [], path
        assert await listed(f"created[lt]={created}") == [], path


async def test_billing_objects_on_a_test_clock_are_filtered_by_their_clocks_created(
    http: ClientSession, settings_admin_token: str
) -> None:
    """A subscription and its invoice on a test clock show the clock's time as `created`; the
    range compares that, the time the merchant reads (it compared the row's insert time, a
    year away here, and at a second's edge one second off for any subscription)."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    frozen = 1767225600
    clock = await call(
        http, "POST", "/v1/test_helpers/test_clocks", key=key, form=f"frozen_time={frozen}"
    )
    customer = await call(
        http, "POST", "/v1/customers", key=key, form=f"name=Ada&test_clock={clock.body['id']}"
    )
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd&recurring[interval]=month",
    )
    items = f"customer={customer.body['id']}&items[0][price]={price.body['id']}&trial_period_days=3"
    subscription = (await call(http, "POST", "/v1/subscriptions", key=key, form=items)).body
    assert subscription["created"] == frozen, subscription
    for path, made in (
        ("/v1/subscriptions", subscription),
        ("/v1/invoices", {"id": subscription["latest_invoice"]}),
    ):
        day = f"created[gte]={frozen}&created[lt]={frozen + 86400}"
        answer = await call(http, "GET", f"{path}?{day}", key=key)
        assert [item["id"] for item in answer.body["data"]] == [made["id"]], (path, answer.body)
