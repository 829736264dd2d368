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
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, payment_pb2

from tests.customer.support import new_card
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


async def test_the_buyer_sees_neither_the_customer_nor_the_merchants_metadata(
    payin: PayIn, shop: Shop
) -> None:
    """Stripe.js's view of an intent (the publishable key with the client_secret), as Stripe
    answers it and as a SetupIntent's: not the merchant's customer id nor its metadata, in a
    read, a confirmation, or the intent a declined confirmation's 402 carries."""
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="buyer@example.com")
    )
    intents = [
        await shop.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=1900,
                currency="usd",
                customer=customer.id,
                metadata={"internal_order": "A-77"},
            )
        )
        for _ in range(2)
    ]
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        read = await browser.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(
                id=intents[0].id, client_secret=intents[0].client_secret
            )
        )
        confirmed = await browser.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(
                id=intents[0].id,
                client_secret=intents[0].client_secret,
                payment_method=(await new_card(browser, good_card())).id,
            )
        )
        declined = await browser.payments.ConfirmPaymentIntent(
            payment_pb2.ConfirmPaymentIntentRequest(
                id=intents[1].id,
                client_secret=intents[1].client_secret,
                payment_method=(await new_card(browser, cards.CARD_DECLINED)).id,
            )
        )
    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    for shown in (read, confirmed, declined):
        assert (shown.customer, dict(shown.metadata)) == ("", {}), shown.id
    by_merchant = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intents[0].id)
    )
    assert (by_merchant.customer, dict(by_merchant.metadata)) == (
        customer.id,
        {"internal_order": "A-77"},
    )

    edge = await start_edge(payin.target, "127.0.0.1:0")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            key = shop.merchant.publishable_key
            path = f"/v1/payment_intents/{intents[1].id}"
            over_http = await call(
                http, "GET", f"{path}?client_secret={intents[1].client_secret}", key=key
            )
    finally:
        await edge.close()
    assert over_http.status == 200, over_http.body
    assert (over_http.body["customer"], over_http.body["metadata"]) == (None, {})
