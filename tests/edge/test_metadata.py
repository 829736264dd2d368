"""Stripe's metadata rules on every update over HTTP: `metadata[k]=v` sets a key,
`metadata[k]=` removes it, and `metadata=` (what stripe-python sends for `metadata=""` and
stripe-node for `metadata: null`) removes every key: the request's `clear_metadata`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientSession
from paycore import contracts
from paycore.edge.errors import PARAM_SHOWN_MAX
from paycore.edge.routes import compile_routes

from tests.edge.helpers import call, charge, new_merchant, seller_account, settled_intent
from tests.payment.shop import good_card
from tests.payout.support import PAID, ROUTING, World

Create = Callable[[ClientSession, str, str], Awaitable[str]]
"""Makes an object of the key's merchant with the given metadata form: its update path."""


async def _customer(http: ClientSession, key: str, metadata: str) -> str:
    created = await call(http, "POST", "/v1/customers", key=key, form=f"name=Ada&{metadata}")
    assert created.status == 200, created.body
    return f"/v1/customers/{created.body['id']}"


async def _payment_intent(http: ClientSession, key: str, metadata: str) -> str:
    form = f"amount=1000&currency=usd&{metadata}"
    created = await call(http, "POST", "/v1/payment_intents", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/payment_intents/{created.body['id']}"


async def _setup_intent(http: ClientSession, key: str, metadata: str) -> str:
    created = await call(http, "POST", "/v1/setup_intents", key=key, form=metadata)
    assert created.status == 200, created.body
    return f"/v1/setup_intents/{created.body['id']}"


async def _webhook_endpoint(http: ClientSession, key: str, metadata: str) -> str:
    form = f"url=https%3A%2F%2F93.184.215.14%2Fhooks&enabled_events[]=*&{metadata}"
    created = await call(http, "POST", "/v1/webhook_endpoints", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/webhook_endpoints/{created.body['id']}"


async def _subscription(http: ClientSession, key: str, metadata: str) -> str:
    product = (await call(http, "POST", "/v1/products", key=key, form="name=Gold")).body
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form=f"product={product['id']}&unit_amount=1500&currency=usd&recurring[interval]=month",
    )
    customer = await call(http, "POST", "/v1/customers", key=key, form="name=Ada")
    form = (
        f"customer={customer.body['id']}&items[0][price]={price.body['id']}"
        f"&trial_period_days=3&{metadata}"
    )
    created = await call(http, "POST", "/v1/subscriptions", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/subscriptions/{created.body['id']}"


async def _promotion_code(http: ClientSession, key: str, metadata: str) -> str:
    coupon = await call(
        http, "POST", "/v1/coupons", key=key, form="percent_off=10&duration=forever"
    )
    assert coupon.status == 200, coupon.body
    form = f"coupon={coupon.body['id']}&code=TENOFF&{metadata}"
    created = await call(http, "POST", "/v1/promotion_codes", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/promotion_codes/{created.body['id']}"


async def _product(http: ClientSession, key: str, metadata: str) -> str:
    created = await call(http, "POST", "/v1/products", key=key, form=f"name=Gold&{metadata}")
    assert created.status == 200, created.body
    return f"/v1/products/{created.body['id']}"


async def _price(http: ClientSession, key: str, metadata: str) -> str:
    product = await _product(http, key, "")
    form = f"product={product.rsplit('/', 1)[1]}&unit_amount=1500&currency=usd&{metadata}"
    created = await call(http, "POST", "/v1/prices", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/prices/{created.body['id']}"


async def _payment_method(http: ClientSession, key: str, metadata: str) -> str:
    form = (
        "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2031"
        f"&card[cvc]=123&{metadata}"
    )
    created = await call(http, "POST", "/v1/payment_methods", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/payment_methods/{created.body['id']}"


async def _coupon(http: ClientSession, key: str, metadata: str) -> str:
    form = f"percent_off=10&duration=forever&{metadata}"
    created = await call(http, "POST", "/v1/coupons", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/coupons/{created.body['id']}"


async def _value_list(http: ClientSession, key: str, metadata: str) -> str:
    form = f"alias=blocked&name=Blocked&item_type=email&{metadata}"
    created = await call(http, "POST", "/v1/radar/value_lists", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/radar/value_lists/{created.body['id']}"


async def _invoice_item(http: ClientSession, key: str, metadata: str) -> str:
    subscription = await _subscription(http, key, "")
    read = await call(http, "GET", subscription, key=key)
    form = (
        f"customer={read.body['customer']}&subscription={read.body['id']}"
        f"&amount=300&currency=usd&{metadata}"
    )
    created = await call(http, "POST", "/v1/invoiceitems", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/invoiceitems/{created.body['id']}"


async def _invoice(http: ClientSession, key: str, metadata: str) -> str:
    customer = await call(http, "POST", "/v1/customers", key=key, form="name=Ada")
    form = f"customer={customer.body['id']}&{metadata}"
    created = await call(http, "POST", "/v1/invoices", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/invoices/{created.body['id']}"


async def _subscription_item(http: ClientSession, key: str, metadata: str) -> str:
    subscription = await _subscription(http, key, "")
    read = await call(http, "GET", subscription, key=key)
    price = await call(
        http,
        "POST",
        "/v1/prices",
        key=key,
        form="product_data[name]=Seat&unit_amount=500&currency=usd&recurring[interval]=month",
    )
    form = f"subscription={read.body['id']}&price={price.body['id']}&{metadata}"
    created = await call(http, "POST", "/v1/subscription_items", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/subscription_items/{created.body['id']}"


async def _checkout_session(http: ClientSession, key: str, metadata: str) -> str:
    form = f"amount=1500&currency=usd&success_url=https://shop.test/ok&{metadata}"
    created = await call(http, "POST", "/v1/checkout/sessions", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/checkout/sessions/{created.body['id']}"


CREATES: dict[str, Create] = {
    "UpdateCustomer": _customer,
    "UpdatePaymentMethod": _payment_method,
    "UpdatePaymentIntent": _payment_intent,
    "UpdateSetupIntent": _setup_intent,
    "UpdateWebhookEndpoint": _webhook_endpoint,
    "UpdateSubscription": _subscription,
    "UpdatePromotionCode": _promotion_code,
    "UpdateCoupon": _coupon,
    "UpdateProduct": _product,
    "UpdatePrice": _price,
    "UpdateInvoiceItem": _invoice_item,
    "UpdateInvoice": _invoice,
    "UpdateSubscriptionItem": _subscription_item,
    "UpdateCheckoutSession": _checkout_session,
    "UpdateValueList": _value_list,
}
"""The updates with metadata whose object the session's server makes (it has no PSP)."""

WorldCreate = Callable[[World, ClientSession, str, str], Awaitable[str]]
"""As `Create`, on the pay-out `world`'s server: its PSP charges, its clock settles funds."""


async def _refund(world: World, http: ClientSession, key: str, metadata: str) -> str:
    intent = await charge(http, key, 2000, good_card(), world.run_worker_once)
    form = f"payment_intent={intent}&amount=500&{metadata}"
    created = await call(http, "POST", "/v1/refunds", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/refunds/{created.body['id']}"


async def _payout(world: World, http: ClientSession, key: str, metadata: str) -> str:
    await charge(http, key, 10_000, good_card(), world.run_worker_once)
    form = (
        "country=US&currency=usd&account_holder_name=Jenny+Rosen"
        f"&routing_number={ROUTING}&account_number={PAID}"
    )
    assert (await call(http, "POST", "/v1/bank_accounts", key=key, form=form)).status == 200
    await world.advance(2)  # the payout delay: the funds become available
    form = f"amount=1000&currency=usd&{metadata}"
    created = await call(http, "POST", "/v1/payouts", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/payouts/{created.body['id']}"


async def _transfer(world: World, http: ClientSession, key: str, metadata: str) -> str:
    await charge(http, key, 10_000, good_card(), world.run_worker_once)
    seller = await seller_account(http, key)
    await world.advance(2)  # the funds become available
    form = f"amount=1000&currency=usd&destination={seller}&{metadata}"
    created = await call(http, "POST", "/v1/transfers", key=key, form=form)
    assert created.status == 200, created.body
    return f"/v1/transfers/{created.body['id']}"


async def _transfer_reversal(world: World, http: ClientSession, key: str, metadata: str) -> str:
    transfer = await _transfer(world, http, key, "")
    path = f"{transfer}/reversals"
    created = await call(http, "POST", path, key=key, form=f"amount=100&{metadata}")
    assert created.status == 200, created.body
    return f"{path}/{created.body['id']}"


async def _charge(world: World, http: ClientSession, key: str, metadata: str) -> str:
    form = f"amount=2000&currency=usd&confirm=true&payment_method=pm_card_visa&{metadata}"
    created = await call(http, "POST", "/v1/payment_intents", key=key, form=form)
    assert created.status == 200, created.body
    paid = await settled_intent(http, key, created.body, world.run_worker_once)
    assert paid["status"] == "succeeded", paid
    return f"/v1/charges/{paid['latest_charge']}"


async def _fee_refund(world: World, http: ClientSession, key: str, metadata: str) -> str:
    seller = await seller_account(http, key)
    form = (
        "amount=10000&currency=usd&confirm=true&payment_method=pm_card_visa"
        f"&transfer_data[destination]={seller}&application_fee_amount=700"
    )
    intent = await call(http, "POST", "/v1/payment_intents", key=key, form=form)
    assert intent.status == 200, intent.body
    paid = await settled_intent(http, key, intent.body, world.run_worker_once)
    assert paid["status"] == "succeeded", paid
    fee = "fee_" + paid["id"].removeprefix("pi_")
    path = f"/v1/application_fees/{fee}/refunds"
    created = await call(http, "POST", path, key=key, form=f"amount=100&{metadata}")
    assert created.status == 200, created.body
    return f"{path}/{created.body['id']}"


WORLD_CREATES: dict[str, WorldCreate] = {
    "UpdateApplicationFeeRefund": _fee_refund,
    "UpdateCharge": _charge,
    "UpdateRefund": _refund,
    "UpdatePayout": _payout,
    "UpdateTransfer": _transfer,
    "UpdateTransferReversal": _transfer_reversal,
}
"""The updates with metadata whose object needs the PSP (and, for a payout, days to pass)."""


def _updates_with_metadata() -> set[str]:
    routes = compile_routes(contracts.proto_files(), contracts.method_policies())
    return {
        route.method.name
        for route in routes
        if route.method.name.startswith("Update") and "metadata" in route.input.fields_by_name
    }


def test_every_update_that_takes_metadata_can_clear_it() -> None:
    """An update added with metadata and no `clear_metadata` would refuse Stripe's `metadata=`."""
    updates = _updates_with_metadata()
    # UpdateDispute's dispute needs the PSP's feed: tests/edge/test_disputes.py clears one.
    assert set(CREATES) | set(WORLD_CREATES) | {"UpdateDispute"} == updates
    routes = compile_routes(contracts.proto_files(), contracts.method_policies())
    for route in routes:
        if route.method.name in updates:
            clear = route.input.fields_by_name.get("clear_metadata")
            assert clear is not None, route.rpc_method
            assert clear.type == clear.TYPE_BOOL, route.rpc_method


@pytest.mark.parametrize("update", sorted(CREATES))
async def test_metadata_empty_clears_every_key_and_a_key_empty_removes_it(
    http: ClientSession, settings_admin_token: str, update: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    path = await CREATES[update](http, key, "metadata[a]=1&metadata[b]=2&metadata[c]=3")
    await _clears_and_removes(http, key, path)


@pytest.mark.parametrize("update", sorted(CREATES))
async def test_a_create_keeps_no_key_given_an_empty_value(
    http: ClientSession, settings_admin_token: str, update: str
) -> None:
    """Stripe's empty value unsets a key, on a create too: the object is made without it
    (it was stored as "", which the next update's `metadata[b]=` then had to remove)."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    path = await CREATES[update](http, key, "metadata[a]=1&metadata[b]=")
    read = await call(http, "GET", path, key=key)
    assert read.status == 200, read.body
    assert read.body["metadata"] == {"a": "1"}


@pytest.mark.parametrize("update", sorted(WORLD_CREATES))
async def test_metadata_of_what_the_psp_makes_clears_and_removes_keys_too(
    world: World, world_http: ClientSession, update: str
) -> None:
    key = (await new_merchant(world_http, world.admin_token))["secret_key"]
    made = WORLD_CREATES[update]
    path = await made(world, world_http, key, "metadata[a]=1&metadata[b]=2&metadata[c]=3")
    await _clears_and_removes(world_http, key, path)


async def _clears_and_removes(http: ClientSession, key: str, path: str) -> None:
    """`path`'s object has metadata {a: 1, b: 2, c: 3}."""
    one_removed = await call(http, "POST", path, key=key, form="metadata[a]=&metadata[d]=4")
    assert one_removed.status == 200, one_removed.body
    assert one_removed.body["metadata"] == {"b": "2", "c": "3", "d": "4"}

    cleared = await call(http, "POST", path, key=key, form="metadata=")
    assert cleared.status == 200, cleared.body
    assert cleared.body["metadata"] == {}
    read = await call(http, "GET", path, key=key)
    assert read.body["metadata"] == {}

    await call(http, "POST", path, key=key, form="metadata[e]=5")
    as_json = await call(http, "POST", path, key=key, json_body={"metadata": ""})
    assert as_json.status == 200, as_json.body
    assert as_json.body["metadata"] == {}


async def test_metadata_empty_is_refused_where_nothing_clears_and_with_keys_beside_it(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    path = await _customer(http, key, "metadata[a]=1")
    both = await call(http, "POST", path, key=key, form="metadata=&metadata[b]=2")
    assert (both.status, both.error["code"], both.error["param"]) == (
        400,
        "parameter_invalid",
        "metadata[b]",
    )
    # A seller account's update takes no metadata; its create keeps metadata to key=value.
    created = await call(http, "POST", "/v1/accounts", key=key, form="metadata=")
    assert (created.status, created.error["param"]) == (400, "metadata")
    unchanged = await call(http, "GET", path, key=key)
    assert unchanged.body["metadata"] == {"a": "1"}


@pytest.mark.parametrize("length", [41, 150])
async def test_a_key_too_long_is_named_as_sent(
    http: ClientSession, settings_admin_token: str, length: int
) -> None:
    """The error names the key the request sent (it named the key cut to 40 characters, a key
    the request never had)."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    sent = "k" * (length - 1) + "z"
    created = await call(http, "POST", "/v1/customers", key=key, form=f"metadata[{sent}]=v")
    assert (created.status, created.error["code"], created.error["param"]) == (
        400,
        "parameter_invalid",
        f"metadata[{sent}]",
    ), created.error
    assert "40 characters" in created.error["message"], created.error


@pytest.mark.parametrize("length", [6_000, 200_000])
async def test_a_very_long_key_is_named_within_the_edges_bound(
    http: ClientSession, settings_admin_token: str, length: int
) -> None:
    """A key longer than the edge echoes (PARAM_SHOWN_MAX) is named by its start, marked cut."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(http, "POST", "/v1/customers", key=key, form=f"metadata[{'k' * length}]=v")
    assert (created.status, created.error["code"]) == (400, "parameter_invalid"), created.error
    param = created.error["param"]
    assert param.startswith("metadata[kkk") and param.endswith("..."), param
    assert len(param) == PARAM_SHOWN_MAX
