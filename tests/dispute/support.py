"""Dispute test support: a shop in the pay-out `world` (one clock for paycore and the PSP
simulator), paying with a dispute test card (a payment intent, or a checkout's payment orders),
then the simulator's delay passing and the worker's dispute_feed job running by hand."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.dispute.feed import dispute_feed
from paycore.v1 import dispute_pb2, event_pb2, payment_pb2
from sqlalchemy import text

from tests.payout.support import PayoutShop, World

DISPUTE_DELAY_SECONDS = 60


async def read_feed(world: World) -> None:
    """The worker's dispute_feed job, on every shard, until it finds nothing."""
    job = dispute_feed(world.platform.disputes, world.platform.shards)
    for engine in world.platform.shards.engines:
        while await job.run(engine):
            pass


@dataclass
class Disputed:
    intent: payment_pb2.PaymentIntent
    dispute: dispute_pb2.Dispute


async def disputed_payment(world: World, shop: PayoutShop, card: str, amount: int) -> Disputed:
    """A payment with `card`, captured, then disputed by the buyer's bank."""
    intent = await shop.pay(card, amount)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    found = await shop.client.disputes.ListDisputes(
        dispute_pb2.ListDisputesRequest(payment_intent=intent.id)
    )
    assert len(found.data) == 1, found
    return Disputed(intent, found.data[0])


async def event_types(shop: PayoutShop, dispute_id: str) -> list[str]:
    """The types of the dispute's events, oldest first."""
    listed = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    found = []
    for event in reversed(listed.data):
        data = dispute_pb2.Dispute()
        if event.data.object.Unpack(data) and data.id == dispute_id:
            found.append(event.type)
    return found


async def pending(shop: PayoutShop, account: str = "") -> int:
    """The pending USD balance of the merchant (or of its seller `account`)."""
    return (await shop.balance(account))[1].get("usd", 0)


async def order_dispute(shop: PayoutShop, order_id: str) -> dispute_pb2.Dispute:
    """The one dispute of a payment order's charge."""
    found = await shop.client.disputes.ListDisputes(
        dispute_pb2.ListDisputesRequest(payment_order=order_id)
    )
    assert len(found.data) == 1, found
    return found.data[0]


async def reread_feed_from_the_start(world: World) -> None:
    """The feed's position lost (a restored home shard, say): every event is read again."""
    async with world.platform.shards.home.begin() as connection:
        await connection.execute(text("UPDATE dispute_feeds SET position = 0, lease_until = 0"))
    await read_feed(world)
