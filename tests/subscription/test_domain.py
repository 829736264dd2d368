"""The catalogue's domain layer, as billing will call it: lookups inside a caller's
transaction, merchant-scoped, and nothing kept when the transaction fails."""

from __future__ import annotations

import pytest
from paycore.app import Platform
from paycore.errors import ApiError, Reason
from paycore.storage.reads import Cursor
from paycore.subscription.models import Interval, NewPrice, NewProduct, Recurring
from paycore.subscription.repository import PRICES, PRODUCTS

from tests.helpers import MerchantFixture

PRODUCT = NewProduct(name="Gold", description="", active=True, metadata={})


def monthly_price(product_id: str) -> NewPrice:
    return NewPrice(
        product_id=product_id,
        unit_amount=1500,
        currency="usd",
        recurring=Recurring(Interval.MONTH, 1),
        nickname="",
        active=True,
        metadata={},
    )


async def test_prices_are_found_in_the_callers_transaction_and_only_for_their_merchant(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    merchant_id, other_id = merchant.merchant.id, other_merchant.merchant.id
    service = platform.subscriptions
    async with platform.shards.transaction(merchant_id) as connection:
        product = await service.create_product(connection, merchant_id, PRODUCT)
        price = await service.create_price(connection, merchant_id, monthly_price(product.id))
        assert await PRICES.require(connection, merchant_id, price.id, "price") == price
        assert await PRODUCTS.require(connection, merchant_id, product.id, "product") == product
    assert price.recurring == Recurring(Interval.MONTH, 1)
    assert await service.get_price(merchant_id, price.id) == price
    async with platform.shards.transaction(other_id) as connection:
        with pytest.raises(ApiError) as raised:
            await PRICES.require(connection, other_id, price.id, "items[0].price")
    assert (raised.value.reason, raised.value.param) == (Reason.RESOURCE_MISSING, "items[0].price")


async def test_a_failed_transaction_keeps_neither_product_nor_price(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    service = platform.subscriptions
    with pytest.raises(ApiError) as raised:
        async with platform.shards.transaction(merchant_id) as connection:
            product = await service.create_product(connection, merchant_id, PRODUCT)
            await service.create_price(connection, merchant_id, monthly_price(product.id))
            await service.create_price(connection, merchant_id, monthly_price("prod_" + "0" * 22))
    assert (raised.value.reason, raised.value.param) == (Reason.RESOURCE_MISSING, "product")
    assert (await service.list_products(merchant_id, Cursor(10), None)).data == []
    assert (await service.list_prices(merchant_id, Cursor(10), "", None)).data == []
