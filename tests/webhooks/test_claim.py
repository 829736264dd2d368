"""The claim of due deliveries (retries, and new ones the fanning worker had no room for) takes
every due delivery the fan-out takes: one whose merchant has no row in `merchants` on the shard
(the webhooks bench's merchants) goes out with livemode false, as its first attempt did."""

from __future__ import annotations

import json

from paycore.storage.schema import merchants
from sqlalchemy import delete

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import statuses
from tests.webhooks.support import endpoint


async def test_a_retry_of_a_merchant_without_a_merchants_row_is_claimed_and_sent(
    hooks: Hooks, shop: Shop
) -> None:
    """Before, the claim's UPDATE joined `merchants`: it locked such a delivery, left it out
    of what it returned and kept it due, so the retry never went out, and enough of them at
    the head of the due queue (four times a claim's batch) left every other retry of the shard
    unclaimed. The webhooks bench stranded every delivery the worker had no room for."""
    receiver = await hooks.receiver(statuses([500]))
    await endpoint(shop.client, receiver.url)
    async with hooks.platform.shards.transaction(shop.id) as connection:
        await connection.execute(delete(merchants).where(merchants.c.merchant_id == shop.id))
    event_id = await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()

    await hooks.deliver(deliverer)  # the first attempt (500), and its retry at once

    assert receiver.event_ids(accepted_only=False) == [event_id, event_id]
    assert receiver.event_ids() == [event_id]
    assert [json.loads(item.body)["livemode"] for item in receiver.received] == [False, False]
