"""The edge's Stripe-compatible JSON over plain HTTP (paycore.stripe_json, edge/expand.py,
edge/declines.py); tests/clients drives the same with the official SDKs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import ClientSession
from paycore.edge import start_edge
from paycore.stripe_json import object_name, stripe_json
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, event_pb2, payment_pb2, subscription_pb2

from tests.edge.helpers import call, card_method, new_merchant
from tests.payment.shop import PayIn, good_card


@pytest_asyncio.fixture
async def payin_http(payin: PayIn) -> AsyncIterator[ClientSession]:
    server = await start_edge(payin.target, "127.0.0.1:0", operator_routes=True)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{server.port}") as session:
            yield session
    finally:
        await server.close()


async def test_a_declined_confirmation_is_a_402_card_error(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, cards.CARD_INSUFFICIENT_FUNDS)
    declined = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        headers={"Idempotency-Key": "declined-1"},
        json_body={"amount": "2000", "currency": "usd", "payment_method": method, "confirm": True},
    )
    assert declined.status == 402, declined.body
    error = declined.body["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    intent = error["payment_intent"]
    assert (intent["object"], intent["status"], intent["amount"]) == (
        "payment_intent",
        "requires_payment_method",
        2000,
    )
    assert intent["last_payment_error"]["code"] == "card_declined"  # CARD_DECLINED on gRPC
    replay = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        headers={"Idempotency-Key": "declined-1"},
        json_body={"amount": 2000, "currency": "usd", "payment_method": method, "confirm": True},
    )
    assert (replay.status, replay.body["error"]["payment_intent"]["id"]) == (402, intent["id"])
    read = await call(payin_http, "GET", f"/v1/payment_intents/{intent['id']}", key=key)
    assert read.status == 200  # reading a declined intent is not an error


async def test_expand_and_list_envelopes(payin_http: ClientSession, payin: PayIn) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    customer = await call(payin_http, "POST", "/v1/customers", key=key, form="email=e@x.test")
    method = await card_method(payin_http, key, good_card())
    await call(
        payin_http,
        "POST",
        f"/v1/payment_methods/{method}/attach",
        key=key,
        form=f"customer={customer.body['id']}",
    )
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=700&currency=usd&customer={customer.body['id']}&payment_method={method}"
        "&expand[]=customer",
    )
    assert created.status == 200, created.body
    assert created.body["customer"]["object"] == "customer"
    listed = await call(
        payin_http,
        "GET",
        f"/v1/payment_intents?customer={customer.body['id']}&expand[0]=data.payment_method",
        key=key,
    )
    assert listed.status == 200, listed.body
    assert (listed.body["object"], listed.body["url"], listed.body["has_more"]) == (
        "list",
        "/v1/payment_intents",
        False,
    )
    assert listed.body["data"][0]["payment_method"]["id"] == method
    assert listed.body["data"][0]["customer"] == customer.body["id"]  # not asked for
    for wrong in ("nope", "amount", "customer.nope"):
        refused = await call(
            payin_http, "GET", f"/v1/payment_intents/{created.body['id']}?expand[]={wrong}", key=key
        )
        assert (refused.status, refused.error["param"]) == (400, "expand"), wrong


async def test_stripe_sdk_headers_are_accepted_and_ignored(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    answer = await call(
        payin_http,
        "GET",
        "/v1/customers",
        key=key,
        headers={
            "Stripe-Version": "2024-06-20",
            "X-Stripe-Client-User-Agent": '{"bindings_version": "16.1.0"}',
            "User-Agent": "Stripe/v1 PythonBindings/16.1.0",
        },
    )
    assert (answer.status, answer.body["object"]) == (200, "list")


async def test_stripe_account_is_refused_not_ignored(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Connect's header asks to act as another account; ignoring it would act on the caller's."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    answer = await call(
        payin_http,
        "POST",
        "/v1/customers",
        key=key,
        json_body={"email": "ada@example.com"},
        headers={"Stripe-Account": "acct_somebody"},
    )
    assert answer.status == 400, answer.body
    error = answer.body["error"]
    assert (error["code"], error["param"]) == ("header_unsupported", "Stripe-Account")
    listed = await call(payin_http, "GET", "/v1/customers", key=key)
    assert listed.body["data"] == []


def test_the_renderer_names_objects_and_numbers() -> None:
    assert object_name(payment_pb2.PaymentIntent.DESCRIPTOR) == "payment_intent"
    assert object_name(customer_pb2.PaymentMethod.DESCRIPTOR) == "payment_method"
    assert object_name(subscription_pb2.TestClock.DESCRIPTOR) == "test_helpers.test_clock"
    assert object_name(payment_pb2.CreatePaymentIntentRequest.DESCRIPTOR) is None
    intent = payment_pb2.PaymentIntent(id="pi_1", amount=2**40, created=1_700_000_000)
    intent.last_payment_error.code = "FRAUD_SUSPECTED"
    event = event_pb2.Event(id="evt_1", type="payment_intent.payment_failed", created=5)
    event.data.object.Pack(intent)
    rendered = stripe_json(event)
    assert list(rendered)[:2] == ["id", "object"] and rendered["created"] == 5
    inner = rendered["data"]["object"]
    assert "@type" not in inner
    assert (inner["object"], inner["amount"], inner["created"]) == (
        "payment_intent",
        2**40,
        1_700_000_000,
    )
    assert inner["last_payment_error"]["code"] == "fraud_suspected"
    listing = stripe_json(
        payment_pb2.ListPaymentIntentsResponse(data=[intent]), list_url="/v1/payment_intents"
    )
    assert (listing["object"], listing["url"], listing["data"][0]["id"]) == (
        "list",
        "/v1/payment_intents",
        "pi_1",
    )
