"""`Idempotent-Replayed: true` on an answer the edge got from the idempotency store (the gRPC
server's `paycore-idempotent-replayed` trailing metadata), as Stripe sends it; absent on a
first execution. Seen with curl's eyes (aiohttp) and with stripe-python's `last_response`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import pytest_asyncio
import stripe
from aiohttp import ClientSession
from paycore.edge import start_edge
from paycore.tools.psp import cards
from paycore.v1 import account_pb2

from tests.edge.helpers import Answer, call, card_method, new_merchant
from tests.payment.shop import PayIn, assert_books_balance, good_card

HEADER = "Idempotent-Replayed"


def replayed(headers: Mapping[str, str]) -> str | None:
    """The header's value, whatever the case of its name (HTTP names are case-insensitive)."""
    found = {name.lower(): value for name, value in headers.items()}
    return found.get(HEADER.lower())


async def twice(http: ClientSession, path: str, key: str, form: str, idem: str) -> list[Answer]:
    headers = {"Idempotency-Key": idem}
    return [await call(http, "POST", path, key=key, form=form, headers=headers) for _ in range(2)]


async def test_a_replayed_customer_has_the_header(payin_http: ClientSession, payin: PayIn) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    first, again = await twice(payin_http, "/v1/customers", key, "email=ada%40example.com", "c-1")
    assert (first.status, again.status) == (200, 200)
    assert again.body == first.body
    assert replayed(first.headers) is None
    assert replayed(again.headers) == "true"
    assert again.headers["Request-Id"].startswith("req_")
    unkeyed = await call(payin_http, "POST", "/v1/customers", key=key, form="email=b%40x.test")
    assert unkeyed.status == 200 and replayed(unkeyed.headers) is None


async def test_a_replayed_confirmed_intent_has_the_header(
    payin_http: ClientSession, payin: PayIn
) -> None:
    merchant = await new_merchant(payin_http, payin.admin_token)
    key = merchant["secret_key"]
    method = await card_method(payin_http, key, good_card())
    form = f"amount=1800&currency=usd&payment_method={method}&confirm=true"
    first, again = await twice(payin_http, "/v1/payment_intents", key, form, "pi-1")
    assert first.status == 200 and first.body["status"] == "succeeded"
    assert again.status == 200 and again.body["id"] == first.body["id"]
    assert replayed(first.headers) is None
    assert replayed(again.headers) == "true"
    await assert_books_balance(payin.admin, merchant["id"], "usd")


async def test_a_replayed_decline_has_the_header(payin_http: ClientSession, payin: PayIn) -> None:
    """The edge answers a declined confirmation 402 (card_error): its replay too, marked."""
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, cards.CARD_DECLINED)
    form = f"amount=900&currency=usd&payment_method={method}&confirm=true"
    first, again = await twice(payin_http, "/v1/payment_intents", key, form, "pi-declined")
    assert (first.status, again.status) == (402, 402)
    assert again.error["code"] == first.error["code"]
    assert replayed(first.headers) is None
    assert replayed(again.headers) == "true"


async def test_a_replayed_error_has_the_header(payin_http: ClientSession, payin: PayIn) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    method = await card_method(payin_http, key, good_card())
    paid = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=600&currency=usd&payment_method={method}&confirm=true",
    )
    assert paid.body["status"] == "succeeded"
    path = f"/v1/payment_intents/{paid.body['id']}/cancel"
    first, again = await twice(payin_http, path, key, "", "cancel-1")
    assert first.status == again.status == 400
    assert again.error == first.error
    assert replayed(first.headers) is None
    assert replayed(again.headers) == "true"


# stripe-python, as a merchant reads it: `obj.last_response.headers`.


@pytest_asyncio.fixture
async def stripe_sdk(payin: PayIn) -> AsyncIterator[stripe.StripeClient]:
    server = await start_edge(payin.target, "127.0.0.1:0")
    merchant = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="SDK user", email="dev@sdk.test", country="US", default_currency="usd"
        )
    )
    url = f"http://127.0.0.1:{server.port}"
    try:
        yield stripe.StripeClient(
            merchant.secret_key, base_addresses={"api": url}, max_network_retries=0
        )
    finally:
        await server.close()


async def test_stripe_python_sees_the_replay(stripe_sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        options: Any = {"idempotency_key": "sdk-order-1"}
        params: Any = {"email": "sdk@example.com"}
        first = stripe_sdk.v1.customers.create(params=params, options=options)
        again = stripe_sdk.v1.customers.create(params=params, options=options)
        assert again.id == first.id
        assert first.last_response is not None and again.last_response is not None
        assert replayed(first.last_response.headers) is None
        assert replayed(again.last_response.headers) == "true"

        card: Any = {"number": good_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = stripe_sdk.v1.payment_methods.create(params={"type": "card", "card": card})
        pay: Any = {"amount": 1200, "currency": "usd", "payment_method": method.id}
        pay["confirm"] = True
        keyed: Any = {"idempotency_key": "sdk-pay-1"}
        paid = stripe_sdk.v1.payment_intents.create(params=pay, options=keyed)
        repaid = stripe_sdk.v1.payment_intents.create(params=pay, options=keyed)
        assert (repaid.id, repaid.status) == (paid.id, "succeeded")
        assert paid.last_response is not None and repaid.last_response is not None
        assert replayed(paid.last_response.headers) is None
        assert replayed(repaid.last_response.headers) == "true"

        cancel: Any = {"idempotency_key": "sdk-cancel-1"}
        errors = []
        for _ in range(2):
            with pytest.raises(stripe.InvalidRequestError) as refused:
                stripe_sdk.v1.payment_intents.cancel(paid.id, options=cancel)
            errors.append(refused.value)
        assert replayed(errors[0].headers or {}) is None
        assert replayed(errors[1].headers or {}) == "true"

    await asyncio.to_thread(scenario)
