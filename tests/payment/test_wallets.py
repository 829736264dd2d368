"""Digital wallets: a card payment method made from an Apple Pay or Google Pay token (the
simulator issues the tokens) pays like a card, with its wallet type recorded; a token with a
bad cryptogram, or one that declines, is declined; the cryptogram reaches the PSP and is in no
log record, no column of either shard, no answer, nor in clear in Redis."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from paycore.v1 import customer_pb2, payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee
from tests.secrecy import assert_nowhere, column_values, log_texts

Card = customer_pb2.CreatePaymentMethodRequest.Card
WALLET_TYPES = {
    "apple_pay": customer_pb2.CARD_WALLET_TYPE_APPLE_PAY,
    "google_pay": customer_pb2.CARD_WALLET_TYPE_GOOGLE_PAY,
}


async def _token(psp: PspSimulator, wallet: str, scenario: str = "succeeds") -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{psp.url}/v1/wallet_tokens", json={"type": wallet, "scenario": scenario}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        token: dict[str, Any] = await response.json()
        return token


async def _wallet_card(shop: Shop, token: dict[str, Any]) -> customer_pb2.PaymentMethod:
    request = customer_pb2.CreatePaymentMethodRequest(
        type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
        card=Card(
            number=token["number"],
            exp_month=token["exp_month"],
            exp_year=token["exp_year"],
            wallet=customer_pb2.CreatePaymentMethodRequest.WalletToken(
                type=WALLET_TYPES[token["type"]], cryptogram=token["cryptogram"]
            ),
        ),
    )
    method: customer_pb2.PaymentMethod = await shop.client.customers.CreatePaymentMethod(request)
    return method


async def _pay(shop: Shop, method: str, amount: int) -> payment_pb2.PaymentIntent:
    intent: payment_pb2.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=amount, currency="usd", payment_method=method, confirm=True
        )
    )
    return intent


@pytest.mark.parametrize("wallet", ["apple_pay", "google_pay"])
async def test_a_wallet_token_pays_like_a_card_with_its_wallet_recorded(
    shop: Shop, payin: PayIn, psp: PspSimulator, wallet: str
) -> None:
    token = await _token(psp, wallet)

    method = await _wallet_card(shop, token)
    intent = await _pay(shop, method.id, 2500)

    assert method.card.wallet.type == WALLET_TYPES[wallet]
    assert method.card.wallet.dynamic_last4 == token["last4"] == method.card.last4
    assert method.card.brand == customer_pb2.CARD_BRAND_VISA
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert (await shop.balance())[1] == {"usd": 2500 - fee(2500)}
    await payin.platform.fraud.flush()
    async with payin.platform.shards.read(shop.id) as connection:
        found = await connection.exec_driver_sql(
            "SELECT facts->>'card_wallet' FROM fraud_assessments"
            f" WHERE merchant_id = '{shop.id}' AND payment = '{intent.id}'"
        )
        assert [row[0] for row in found] == [wallet]
    await shop.assert_books_balance()


async def test_a_bad_cryptogram_and_a_declining_token_are_declined(
    shop: Shop, psp: PspSimulator
) -> None:
    bad = await _pay(
        shop, (await _wallet_card(shop, await _token(psp, "apple_pay", "bad_cryptogram"))).id, 900
    )
    declined = await _pay(
        shop, (await _wallet_card(shop, await _token(psp, "google_pay", "declines"))).id, 900
    )

    assert bad.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert bad.last_payment_error.decline_code == "invalid_cryptogram"
    assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert declined.last_payment_error.decline_code == "generic_decline"
    assert (await shop.balance())[1] == {}
    await shop.assert_books_balance()


async def test_no_cryptogram_is_stored_or_logged(
    shop: Shop, payin: PayIn, psp: PspSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [
        await _token(psp, "apple_pay"),
        await _token(psp, "google_pay"),
        await _token(psp, "apple_pay", "bad_cryptogram"),
    ]
    cryptograms = [token["cryptogram"] for token in tokens]
    responses = []
    for token in tokens:
        method = await _wallet_card(shop, token)
        responses += [str(method), str(await _pay(shop, method.id, 1200))]

    assert_nowhere(cryptograms, [], log_texts(caplog.records), "a log record")
    assert_nowhere(cryptograms, [], responses, "a response")
    for engine in payin.platform.shards.engines:
        values = [value for _, value in await column_values(engine)]
        assert values, "the shards hold this run's rows"
        assert_nowhere(cryptograms, [], values, "a database column")
    redis = payin.platform.redis
    held = [await redis.get(key) async for key in redis.scan_iter("*wallet_cryptogram*")]
    assert held, "the cryptograms wait sealed in Redis"
    texts = [value.decode("latin-1") if isinstance(value, bytes) else str(value) for value in held]
    assert_nowhere(cryptograms, [], texts, "Redis")
