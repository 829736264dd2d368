"""Stripe's price `lookup_key`: set on create or update, unique among a merchant's prices
(another price's key is refused naming `lookup_key` unless `transfer_lookup_key` moves it,
price.updated for the price that loses it), "" removes it, and ListPrices' `lookup_keys`
lists the prices holding them. Another merchant's keys are its own."""

from __future__ import annotations

import grpc
from paycore.v1 import event_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import MerchantFixture
from tests.subscription.support import MONTHLY, new_price, new_product

S = subscription_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def _listed(merchant: MerchantFixture, *keys: str) -> list[str]:
    page = await merchant.client.subscriptions.ListPrices(
        S.ListPricesRequest(lookup_keys=list(keys), limit=100)
    )
    return [price.id for price in page.data]


async def test_a_lookup_key_is_unique_moves_with_transfer_and_filters_the_list(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    api = merchant.client.subscriptions
    product = await new_product(merchant.client)
    gold = await new_price(merchant.client, product.id, recurring=MONTHLY, lookup_key="gold")
    silver = await new_price(merchant.client, product.id, lookup_key="silver")
    plain = await new_price(merchant.client, product.id)
    assert (gold.lookup_key, silver.lookup_key, plain.lookup_key) == ("gold", "silver", "")
    assert await _listed(merchant, "gold") == [gold.id]
    assert await _listed(merchant, "gold", "silver") == [silver.id, gold.id]
    assert len(await _listed(merchant)) == 3

    taken = await failure(new_price(merchant.client, product.id, lookup_key="gold"), INVALID)
    assert taken.param == "lookup_key" and gold.id in taken.message
    refused = await failure(
        api.UpdatePrice(S.UpdatePriceRequest(id=silver.id, lookup_key="gold")), INVALID
    )
    assert refused.param == "lookup_key"
    assert await _listed(merchant, "gold") == [gold.id]

    gold_2 = await new_price(
        merchant.client, product.id, 2500, lookup_key="gold", transfer_lookup_key=True
    )
    assert await _listed(merchant, "gold") == [gold_2.id]
    released = await api.GetPrice(S.GetPriceRequest(id=gold.id))
    assert released.lookup_key == ""
    moved = await api.UpdatePrice(
        S.UpdatePriceRequest(id=gold.id, lookup_key="gold", transfer_lookup_key=True)
    )
    assert moved.lookup_key == "gold"
    assert await _listed(merchant, "gold") == [gold.id]
    cleared = await api.UpdatePrice(S.UpdatePriceRequest(id=silver.id, lookup_key=""))
    assert cleared.lookup_key == "" and await _listed(merchant, "silver") == []
    updates = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="price.updated", limit=100)
    )
    # gold lost its key, gold_2 lost it back, gold took it, silver dropped its own.
    assert len(updates.data) == 4

    # Another merchant's prices keep their own keys.
    other_product = await new_product(other_merchant.client)
    theirs = await new_price(other_merchant.client, other_product.id, lookup_key="gold")
    assert theirs.lookup_key == "gold" and await _listed(merchant, "gold") == [gold.id]


async def test_bad_lookup_keys_are_refused_naming_the_field(merchant: MerchantFixture) -> None:
    api = merchant.client.subscriptions
    product = await new_product(merchant.client)
    long = await failure(new_price(merchant.client, product.id, lookup_key="k" * 201), INVALID)
    assert long.param == "lookup_key"
    many = await failure(
        api.ListPrices(S.ListPricesRequest(lookup_keys=[str(n) for n in range(11)])), INVALID
    )
    assert many.param == "lookup_keys"
    empty = await failure(api.ListPrices(S.ListPricesRequest(lookup_keys=["a", ""])), INVALID)
    assert empty.param == "lookup_keys[1]"
