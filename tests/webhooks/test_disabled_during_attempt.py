"""An endpoint disabled while an attempt to it is under way: the attempt's failure leaves the
delivery parked, as a disabled endpoint's pending retries are (docs/webhooks.md), not due."""

from __future__ import annotations

import asyncio

from paycore.v1 import event_pb2

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import never_answering, statuses
from tests.webhooks.support import deliveries, endpoint

PENDING = event_pb2.WEBHOOK_DELIVERY_STATUS_PENDING


async def test_a_retry_of_an_endpoint_disabled_during_its_attempt_waits_parked(
    hooks: Hooks, shop: Shop
) -> None:
    """Before, the failed attempt's outcome gave the delivery its next attempt although the
    endpoint was disabled meanwhile: the log showed a next attempt that never came, and the
    delivery stayed first in the due queue, where every claim scanned past it. Enough of them
    (four times a claim's batch) filled each scan: no other endpoint's retry was claimed."""
    release = asyncio.Event()
    held = await hooks.receiver(never_answering(release))  # 503 once released
    paused = await endpoint(shop.client, held.url)
    for _ in range(4):
        await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer(concurrency=4, claim_batch_max=1)  # a claim scans 4 due rows
    for engine in hooks.platform.shards.engines:
        await deliverer.run(engine)
    for _ in range(200):
        if len(held.received) == 4:
            break
        await asyncio.sleep(0.02)
    assert len(held.received) == 4  # four attempts under way
    await shop.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(id=paused.id, disabled=True)
    )
    release.set()
    await deliverer.settle()
    await hooks.deliver(deliverer)  # records their failures

    parked = await deliveries(shop.client, paused.id)
    assert [(d.status, d.attempt_count, d.next_attempt) for d in parked] == [(PENDING, 1, 0)] * 4

    # Another endpoint's retry is claimed, whatever the disabled endpoint left behind.
    flaky = await hooks.receiver(statuses([500]))
    healthy = await endpoint(shop.client, flaky.url)
    hooks.clock.advance(seconds=1)
    event_id = await record(hooks.platform, shop.id)
    await hooks.deliver(deliverer)
    assert flaky.event_ids(accepted_only=False) == [event_id, event_id]
    assert flaky.event_ids() == [event_id]
    assert [d.attempt_count for d in await deliveries(shop.client, healthy.id)] == [2]

    # Enabled again, the parked retries go out.
    await shop.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(id=paused.id, disabled=False)
    )
    await hooks.until(deliverer, lambda: len(held.received) >= 8)
