"""Issue 23, item 5: what the public publishable key can reach."""

from __future__ import annotations

import asyncio
import os
import secrets

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, connect, idempotency_key
from paycore.config import Settings
from paycore.v1 import customer_pb2

from tests.customer.support import card_request
from tests.helpers import MerchantFixture, create_merchant, rich_error, serving
from tests.secrecy import random_card


async def test_the_publishable_key_has_its_own_idempotency_keys(
    target: str, merchant: MerchantFixture
) -> None:
    """An idempotency key used with the pk_ key made the secret key's later calls with that key
    fail idempotency_key_reused."""
    key = idempotency_key(f"order-{secrets.token_hex(4)}")
    async with connect(target, merchant.merchant.publishable_key) as browser:
        tokenized = await browser.customers.CreatePaymentMethod(
            card_request(random_card("4", 16)), metadata=key
        )
    customer = await merchant.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Payer"), metadata=key
    )
    assert customer.id.startswith("cus_")
    again = await merchant.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Payer"), metadata=key
    )
    assert again.id == customer.id  # the secret key's own replay still works
    async with connect(target, merchant.merchant.publishable_key) as browser:
        # The browser's own retry, a different card under the same key, is its own conflict.
        error = rich_error(
            await _failure(
                browser.customers.CreatePaymentMethod(
                    card_request(random_card("5", 16)), metadata=key
                )
            )
        )
    assert error.reason == "IDEMPOTENCY_KEY_REUSED"
    assert tokenized.id.startswith("pm_")


async def _failure(call: object) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value


async def test_the_publishable_key_sees_no_platform_wide_fingerprint(
    admin: Paycore, target: str, merchant: MerchantFixture
) -> None:
    """The pk_ key returned the platform-wide fingerprint: 100 guesses through it recovered a
    card number from a fingerprint known from elsewhere."""
    other = await create_merchant(admin, target, name="Other")
    number = random_card("4", 16)
    try:
        async with (
            connect(target, merchant.merchant.publishable_key) as first_browser,
            connect(target, other.merchant.publishable_key) as second_browser,
        ):
            first = await first_browser.customers.CreatePaymentMethod(card_request(number))
            again = await first_browser.customers.CreatePaymentMethod(card_request(number))
            second = await second_browser.customers.CreatePaymentMethod(card_request(number))
        platform_wide = await merchant.client.customers.CreatePaymentMethod(card_request(number))
    finally:
        await other.client.close()
    assert first.card.fingerprint == again.card.fingerprint  # stable within the merchant
    assert first.card.fingerprint != second.card.fingerprint  # unrelated across merchants
    assert platform_wide.card.fingerprint not in (first.card.fingerprint, second.card.fingerprint)


async def test_a_flood_from_one_address_leaves_other_buyers_tokenizing(
    migrated: Settings,
) -> None:
    """Flooding the public key made a buyer's tokenization get 429 on 9 of 10 tries."""
    limited = migrated.with_overrides(
        rate_limits_per_second={"payments": 100, "subscriptions": 10, "other": 5},
        redis_key_prefix=f"{migrated.redis_key_prefix}{os.urandom(4).hex()}:",
    )
    async with serving(limited) as target:
        async with connect(target, migrated.admin_token) as admin:
            shop = await create_merchant(admin, target, name="Limited")
        try:
            async with connect(target, shop.merchant.publishable_key) as browser:
                flooder = (("x-forwarded-for", "198.51.100.66"),)

                async def flood() -> grpc.StatusCode:
                    try:
                        await browser.customers.CreatePaymentMethod(
                            card_request(random_card("4", 16)), metadata=flooder
                        )
                    except aio.AioRpcError as error:
                        return error.code()
                    return grpc.StatusCode.OK

                codes = await asyncio.gather(*(flood() for _ in range(40)))
                assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
                buyer = (("x-forwarded-for", "203.0.113.9"),)
                for _ in range(3):
                    tokenized = await browser.customers.CreatePaymentMethod(
                        card_request(random_card("4", 16)), metadata=buyer
                    )
                    assert tokenized.id.startswith("pm_")
        finally:
            await shop.client.close()
