"""The retry schedule as a setting (PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS,
PAYCORE_WEBHOOK_GIVE_UP_SECONDS): a test from outside, which cannot move the worker's clock,
sees issue 15's "fails 3 times, then 200: 4 attempts" and "failing for the whole schedule:
disabled with an event" in seconds, with the deliverer the worker builds from its settings
(real time). Unset, the schedule is Standard Webhooks' (tests/webhooks/test_delivery.py)."""

from __future__ import annotations

import asyncio

import pytest
from paycore.app import build_deliverer
from paycore.config import load_settings
from paycore.customer.vault import Vault
from paycore.errors import ConfigurationError
from paycore.v1 import event_pb2
from paycore.webhooks.sealing import SecretBox

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import statuses
from tests.webhooks.support import deliveries, endpoint

SUCCEEDED = event_pb2.WEBHOOK_DELIVERY_STATUS_SUCCEEDED
FAILED = event_pb2.WEBHOOK_DELIVERY_STATUS_FAILED


def test_the_schedule_is_read_from_the_environment() -> None:
    unset = load_settings({})
    assert unset.webhook_retry_schedule_seconds == (0, 5, 300, 1800, 7200, 18000, 36000)
    assert unset.webhook_give_up_seconds == 3 * 86_400
    set_ = load_settings(
        {
            "PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS": "0, 1,2",
            "PAYCORE_WEBHOOK_GIVE_UP_SECONDS": "30",
        }
    )
    assert (set_.webhook_retry_schedule_seconds, set_.webhook_give_up_seconds) == ((0, 1, 2), 30)
    for bad in (
        {"PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS": "0,soon"},
        {"PAYCORE_WEBHOOK_RETRY_SCHEDULE_SECONDS": "0,-1"},
        {"PAYCORE_WEBHOOK_GIVE_UP_SECONDS": "0"},
    ):
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            load_settings(bad)


async def test_a_short_schedule_runs_its_course_in_seconds(hooks: Hooks, shop: Shop) -> None:
    settings = hooks.settings.with_overrides(
        webhook_retry_schedule_seconds=(0, 1), webhook_give_up_seconds=4
    )
    deliverer = build_deliverer(settings, SecretBox(Vault.from_setting(settings.vault_key)))
    hooks.deliverers.append(deliverer)
    flaky = await hooks.receiver(statuses([500, 502, 500]))
    flaky_endpoint = await endpoint(shop.client, flaky.url)
    dead = await hooks.receiver(statuses([500] * 1000))
    dead_endpoint = await endpoint(shop.client, dead.url)
    event_id = await record(hooks.platform, shop.id, "payment_intent.succeeded")

    async def of_the_event(endpoint_id: str) -> event_pb2.WebhookDelivery:
        """The delivery of the event to the endpoint (an empty one until it is made)."""
        found = [
            delivery
            for delivery in await deliveries(shop.client, endpoint_id)
            if delivery.event == event_id
        ]
        assert len(found) <= 1
        return found[0] if found else event_pb2.WebhookDelivery()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (await of_the_event(flaky_endpoint.id)).status != SUCCEEDED or (
        await of_the_event(dead_endpoint.id)
    ).status != FAILED:
        assert loop.time() < deadline, "the schedule did not run its course in 20 s"
        for engine in hooks.platform.shards.engines:
            await deliverer.run(engine)
        await deliverer.settle()
        await asyncio.sleep(0.1)

    done = await of_the_event(flaky_endpoint.id)
    assert [attempt.response_status for attempt in done.attempts] == [500, 502, 500, 200]
    assert [received.event["id"] for received in flaky.received[:4]] == [event_id] * 4
    given_up = await of_the_event(dead_endpoint.id)
    assert given_up.attempt_count >= 3
    for engine in hooks.platform.shards.engines:  # the next run disables the endpoint
        await deliverer.run(engine)
    fetched = await shop.client.events.GetWebhookEndpoint(
        event_pb2.GetWebhookEndpointRequest(id=dead_endpoint.id)
    )
    assert fetched.status == event_pb2.WEBHOOK_ENDPOINT_STATUS_DISABLED
    disabled = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="webhook_endpoint.disabled")
    )
    assert len(disabled.data) == 1
