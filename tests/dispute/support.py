"""Dispute test support: a shop in the pay-out `world` (one clock for paycore and the PSP
simulator), paying with a dispute test card, then the simulator's delay passing and the
worker's dispute_feed job running by hand."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.dispute.feed import dispute_feed
from paycore.v1 import dispute_pb2, payment_pb2

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


async def pending(shop: PayoutShop) -> int:
    return (await shop.balance())[1].get("usd", 0)
