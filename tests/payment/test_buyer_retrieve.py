"""The buyer's browser reads the intent it confirms: GetPaymentIntent with the publishable key
and the intent's client_secret (Stripe.js's retrievePaymentIntent: `GET
/v1/payment_intents/{id}?client_secret=...` with the pk_ key). Without the secret, or with
another intent's, it is refused; its answer has no fraud assessment; the secret key's read is
unchanged."""

from __future__ import annotations

import grpc
import pytest
from aiohttp import ClientSession
from grpc import aio
from paycore.client import connect
from paycore.edge import start_edge
from paycore.v1 import payment_pb2

from tests.edge.helpers import call
from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card


async def _succeeded(shop: Shop, amount: int) -> payment_pb2.PaymentIntent:
    method = await shop.card(good_card())
    return await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=amount, currency="usd", payment_method=method, confirm=True
        )
    )


async def test_the_publishable_key_reads_an_intent_with_its_client_secret(
    payin: PayIn, shop: Shop
) -> None:
    paid = await _succeeded(shop, 1500)
    other = await _succeeded(shop, 1600)
    assert paid.HasField("risk_assessment")  # what the merchant sees, and the buyer must not
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        read = await browser.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=paid.id, client_secret=paid.client_secret)
        )
        with pytest.raises(aio.AioRpcError) as missing:
            await browser.payments.GetPaymentIntent(payment_pb2.GetPaymentIntentRequest(id=paid.id))
        with pytest.raises(aio.AioRpcError) as mismatched:
            await browser.payments.GetPaymentIntent(
                payment_pb2.GetPaymentIntentRequest(id=paid.id, client_secret=other.client_secret)
            )

    assert (read.id, read.status, read.amount) == (
        paid.id,
        payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED,
        1500,
    )
    assert read.client_secret == paid.client_secret
    assert not read.HasField("risk_assessment")
    for refused in (missing.value, mismatched.value):
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rich_error(refused).param == "client_secret"
    by_merchant = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=paid.id)
    )
    assert by_merchant.HasField("risk_assessment")


async def test_stripe_js_reads_the_intent_through_the_edge(payin: PayIn, shop: Shop) -> None:
    paid = await _succeeded(shop, 1700)
    edge = await start_edge(payin.target, "127.0.0.1:0")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            path = f"/v1/payment_intents/{paid.id}"
            key = shop.merchant.publishable_key
            read = await call(http, "GET", f"{path}?client_secret={paid.client_secret}", key=key)
            refused = await call(http, "GET", path, key=key)
    finally:
        await edge.close()

    assert read.status == 200, read.body
    assert (read.body["id"], read.body["status"], read.body["amount"]) == (
        paid.id,
        "succeeded",
        1700,
    )
    assert "risk_assessment" not in read.body or read.body["risk_assessment"] is None
    assert refused.status == 400, refused.body
    assert refused.body["error"]["param"] == "client_secret"
