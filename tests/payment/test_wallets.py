"""Digital wallets: a card payment method made from an Apple Pay or Google Pay token (the
simulator issues the tokens) pays like a card, with its wallet type recorded; a token with a
bad cryptogram, or one that declines, is declined; the cryptogram reaches the PSP and is in no
log record, no column of either shard, no answer, nor in clear in Redis. Once charged with its
cryptogram, a saved wallet card pays again after the cryptogram expired (merchant-initiated);
one never charged is declined then."""

from __future__ import annotations

import logging

import pytest
from paycore.config import Settings
from paycore.v1 import customer_pb2, payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee, open_shop
from tests.payment.wallets import (
    WALLET_TYPES,
    held_cryptogram,
    payin_with_cryptogram_ttl,
    wait_until_cryptogram_expired,
    wallet_card,
    wallet_token,
)
from tests.secrecy import assert_nowhere, column_values, log_texts

# Long enough for a payment method's first charge right after its creation, short enough to
# wait out; the never-charged token's wait needs no first charge.
SHORT_TTL_SECONDS = 3
SHORTEST_TTL_SECONDS = 1


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
    token = await wallet_token(psp, wallet)

    method = await wallet_card(shop, token)
    intent = await _pay(shop, method.id, 2500)

    assert method.card.wallet.type == WALLET_TYPES[wallet]
    assert method.card.wallet.dynamic_last4 == token["last4"] == method.card.last4
    assert method.card.brand == customer_pb2.CARD_BRAND_VISA
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert (await shop.balance())[1] == {"usd": 2500 - fee(2500)}
    # Its charge shows the wallet too (Stripe's payment_method_details.card.wallet).
    charge = await shop.client.payments.GetCharge(
        payment_pb2.GetChargeRequest(id=intent.latest_charge)
    )
    shown = charge.payment_method_details.card
    assert (shown.wallet.type, shown.wallet.dynamic_last4) == (
        WALLET_TYPES[wallet],
        method.card.last4,
    )
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
    bad_token = await wallet_token(psp, "apple_pay", "bad_cryptogram")
    bad = await _pay(shop, (await wallet_card(shop, bad_token)).id, 900)
    declined = await _pay(
        shop, (await wallet_card(shop, await wallet_token(psp, "google_pay", "declines"))).id, 900
    )

    assert bad.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert bad.last_payment_error.decline_code == "invalid_cryptogram"
    assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert declined.last_payment_error.decline_code == "generic_decline"
    assert (await shop.balance())[1] == {"usd": 0}
    await shop.assert_books_balance()


async def test_no_cryptogram_is_stored_or_logged(
    shop: Shop, payin: PayIn, psp: PspSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [
        await wallet_token(psp, "apple_pay"),
        await wallet_token(psp, "google_pay"),
        await wallet_token(psp, "apple_pay", "bad_cryptogram"),
    ]
    cryptograms = [token["cryptogram"] for token in tokens]
    responses = []
    for token in tokens:
        method = await wallet_card(shop, token)
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


@pytest.mark.parametrize("wallet", ["apple_pay", "google_pay"])
async def test_a_wallet_card_charged_once_pays_again_after_its_cryptogram_expired(
    migrated: Settings, psp: PspSimulator, wallet: str
) -> None:
    async with payin_with_cryptogram_ttl(migrated, psp, SHORT_TTL_SECONDS) as payin:
        shop = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
        try:
            method = await wallet_card(shop, await wallet_token(psp, wallet))
            held = await held_cryptogram(payin, method.id)
            first = await _pay(shop, method.id, 2500)
            await wait_until_cryptogram_expired(payin, held)

            again = await _pay(shop, method.id, 1800)

            assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, first
            assert again.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, again
            assert (await shop.balance())[1] == {"usd": 2500 - fee(2500) + 1800 - fee(1800)}
            await shop.assert_books_balance()
        finally:
            await shop.close()


async def test_a_wallet_card_never_charged_is_declined_once_its_cryptogram_expired(
    migrated: Settings, psp: PspSimulator
) -> None:
    async with payin_with_cryptogram_ttl(migrated, psp, SHORTEST_TTL_SECONDS) as payin:
        shop = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
        try:
            token = await wallet_token(psp, "apple_pay")
            method = await wallet_card(shop, token)
            await wait_until_cryptogram_expired(payin, await held_cryptogram(payin, method.id))
            # The same DPAN charged (and authenticated) by another payment method of another
            # merchant does not authenticate it for this one.
            other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
            try:
                paid_elsewhere = await _pay(other, (await wallet_card(other, token)).id, 700)
            finally:
                await other.close()

            declined = await _pay(shop, method.id, 900)

            assert paid_elsewhere.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
            assert declined.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
            assert declined.last_payment_error.decline_code == "invalid_cryptogram"
            assert (await shop.balance())[1] == {"usd": 0}
            await shop.assert_books_balance()
        finally:
            await shop.close()
