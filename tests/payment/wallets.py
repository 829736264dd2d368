"""What the wallet tests share: a test wallet token from the simulator, a card payment method
made from it, and a pay-in platform whose cryptograms wait a short while (the
PAYCORE_WALLET_CRYPTOGRAM_TTL_SECONDS override) with a wait until one has expired."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
from paycore.config import Settings
from paycore.v1 import customer_pb2

from tests.conftest import serving_payin
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop

Card = customer_pb2.CreatePaymentMethodRequest.Card
WALLET_TYPES = {
    "apple_pay": customer_pb2.CARD_WALLET_TYPE_APPLE_PAY,
    "google_pay": customer_pb2.CARD_WALLET_TYPE_GOOGLE_PAY,
}
EXPIRY_WAIT_SLACK_SECONDS = 10.0
"""How long past its TTL a held cryptogram may linger in Redis before the wait fails."""


async def wallet_token(
    psp: PspSimulator, wallet: str, scenario: str = "succeeds"
) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{psp.url}/v1/wallet_tokens", json={"type": wallet, "scenario": scenario}
        ) as response,
    ):
        assert response.status == 200, await response.text()
        token: dict[str, Any] = await response.json()
        return token


async def wallet_card(
    shop: Shop, token: dict[str, Any], customer: str = ""
) -> customer_pb2.PaymentMethod:
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
    if customer:
        await shop.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=method.id, customer=customer)
        )
    return method


def payin_with_cryptogram_ttl(
    migrated: Settings, psp: PspSimulator, ttl_seconds: int
) -> contextlib.AbstractAsyncContextManager[PayIn]:
    """The `payin` fixture's platform, its wallet cryptograms held `ttl_seconds`."""
    return serving_payin(migrated, psp, wallet_cryptogram_ttl_seconds=ttl_seconds)


async def held_cryptogram(payin: PayIn, payment_method_id: str) -> list[Any]:
    """The Redis keys holding the payment method's cryptogram, read right after the method was
    made (its TTL may be a second: read later on a busy machine it could be gone already), so
    that waiting for them to expire is not a wait for nothing."""
    redis = payin.platform.redis
    held = [key async for key in redis.scan_iter(f"*wallet_cryptogram:{payment_method_id}")]
    assert held, "the cryptogram waits in Redis until its TTL"
    return held


async def wait_until_cryptogram_expired(payin: PayIn, held: list[Any]) -> None:
    """Returns once Redis no longer holds the cryptogram (`held_cryptogram`: its TTL ran out)."""
    redis = payin.platform.redis
    deadline = (
        time.monotonic()
        + payin.platform.settings.wallet_cryptogram_ttl_seconds
        + EXPIRY_WAIT_SLACK_SECONDS
    )
    while await redis.exists(*held):
        assert time.monotonic() < deadline, "the cryptogram outlived its TTL"
        await asyncio.sleep(0.1)
