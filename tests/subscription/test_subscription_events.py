"""The Event service's subscriptions carry each item's Price object, as the answers do (and
Stripe's events): it was the price's id, so a consumer unpacking `customer.subscription.*`
read no amount, currency or interval of what the subscription bills."""

from __future__ import annotations

from paycore.storage.schema import events
from paycore.v1 import event_pb2, subscription_pb2
from sqlalchemy import and_, select, update

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import open_billing, utc

S = subscription_pb2


async def test_subscription_events_carry_the_items_prices(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, utc(2028, 1, 31))
    price = await billing.price(1250, "jpy")
    created = await billing.subscribe([(price, 3)])
    answered = await billing.api.GetPrice(S.GetPriceRequest(id=price))

    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.subscription.created")
    )
    (event,) = events.data
    recorded = S.Subscription()
    assert event.data.object.Unpack(recorded)
    assert recorded.id == created.id
    assert [(item.price, item.quantity) for item in recorded.items] == [(answered, 3)]
    assert recorded.items == created.items  # as CreateSubscription answered
    assert (recorded.items[0].price.unit_amount, recorded.items[0].price.currency) == (1250, "jpy")


async def test_events_stored_when_an_item_named_its_price_by_id_still_read(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """An event recorded before items carried their Price (the item's `price` stored as the
    id) reads back with a Price of that id, rather than failing ListEvents for the merchant."""
    billing = await open_billing(payin, shop, psp, utc(2028, 1, 31))
    price = await billing.price(1000)
    created = await billing.subscribe([(price, 1)])
    assert created.items[0].price.id == price
    merchant_id = shop.id
    async with payin.platform.shards.transaction(merchant_id) as connection:
        t = events
        mine = and_(t.c.merchant_id == merchant_id, t.c.type == "customer.subscription.created")
        data = (await connection.execute(select(t.c.data).where(mine))).scalar_one()
        for item in data["items"]:
            item["price"] = item["price"]["id"]  # as stored then
        await connection.execute(update(t).where(mine).values(data=data))

    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.subscription.created")
    )
    recorded = S.Subscription()
    assert listed.data[0].data.object.Unpack(recorded)
    assert [item.price.id for item in recorded.items] == [price]
