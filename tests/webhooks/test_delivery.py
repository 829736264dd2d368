"""Deliveries to real receivers on 127.0.0.1: signatures checked by the libraries merchants
use, retries on the schedule, a dead endpoint beside a healthy one, filters, disabled
endpoints, Retry-After and 410."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc import aio
from paycore.stripe_json import stripe_json, with_livemode
from paycore.v1 import event_pb2

from tests.events.support import record
from tests.helpers import rich_error
from tests.payment.shop import Shop, good_card
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import (
    never_answering,
    ok,
    statuses,
    verified_by_standardwebhooks,
    verified_by_stripe,
)
from tests.webhooks.support import deliveries, endpoint, event_ids

SUCCEEDED = event_pb2.WEBHOOK_DELIVERY_STATUS_SUCCEEDED
PENDING = event_pb2.WEBHOOK_DELIVERY_STATUS_PENDING
FAILED = event_pb2.WEBHOOK_DELIVERY_STATUS_FAILED


async def test_every_event_of_a_payment_reaches_receivers_verifying_with_both_libraries(
    hooks: Hooks, shop: Shop
) -> None:
    secrets: dict[str, str] = {}
    standard = await hooks.receiver(verified_by_standardwebhooks(lambda: [secrets["standard"]]))
    stripe = await hooks.receiver(verified_by_stripe(lambda: [secrets["stripe"]]))
    for name, receiver in (("standard", standard), ("stripe", stripe)):
        created = await endpoint(shop.client, receiver.url)
        secrets[name] = created.secret
    paid = await shop.pay(good_card())
    assert paid.status == 4 or paid.status  # settled synchronously or processing: events follow
    await hooks.deliver(hooks.deliverer())

    recorded = await event_ids(shop.client)
    assert len(recorded) >= 3, recorded  # created, charge and intent succeeded at least
    assert sorted(standard.event_ids()) == sorted(recorded)
    assert sorted(stripe.event_ids()) == sorted(recorded)
    assert len(standard.received) == len(stripe.received) == len(recorded)  # none refused
    for received in standard.received:
        # The body is the event exactly as GetEvent renders it (the REST edge's Stripe JSON).
        event = await shop.client.events.GetEvent(
            event_pb2.GetEventRequest(id=received.event["id"])
        )
        assert json.loads(received.body) == with_livemode(
            stripe_json(event), False
        )  # a test-mode merchant's
        assert received.headers["webhook-id"] == event.id
    log = await deliveries(shop.client)
    assert len(log) == 2 * len(recorded)
    assert {delivery.status for delivery in log} == {SUCCEEDED}
    assert all(delivery.attempt_count == 1 for delivery in log)
    assert all(delivery.attempts[0].response_body == "verified" for delivery in log)


async def test_an_endpoint_failing_three_times_gets_the_event_after_each_failure(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(statuses([500, 502, 500]))
    created = await endpoint(shop.client, receiver.url)
    event_id = await record(hooks.platform, shop.id, "payment_intent.succeeded")
    deliverer = hooks.deliverer()

    await hooks.deliver(deliverer)  # the first attempt, and the second at once
    assert receiver.event_ids(accepted_only=False) == [event_id, event_id]
    hooks.clock.advance(seconds=4)
    await hooks.deliver(deliverer)
    assert len(receiver.received) == 2  # the third waits 5 s
    hooks.clock.advance(seconds=1)
    await hooks.deliver(deliverer)
    assert len(receiver.received) == 3
    (waiting,) = await deliveries(shop.client, created.id)
    assert (waiting.status, waiting.attempt_count, waiting.last_error) == (PENDING, 3, "http_500")
    assert waiting.next_attempt == waiting.last_attempt + 5 * 60
    hooks.clock.advance(minutes=5)
    await hooks.deliver(deliverer)
    hooks.clock.advance(hours=12)
    await hooks.deliver(deliverer)  # nothing more: it is done

    assert receiver.event_ids(accepted_only=False) == [event_id] * 4
    assert receiver.event_ids() == [event_id]
    (done,) = await deliveries(shop.client, created.id)
    assert (done.status, done.attempt_count, done.next_attempt) == (SUCCEEDED, 4, 0)
    assert [attempt.response_status for attempt in done.attempts] == [500, 502, 500, 200]
    assert [attempt.response_body for attempt in done.attempts][-1] == "answer 200"
    assert [attempt.error for attempt in done.attempts] == ["http_500", "http_502", "http_500", ""]
    times = [attempt.attempted for attempt in done.attempts]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [
        0,
        5,
        300,
    ]
    assert all(attempt.duration_ms >= 0 for attempt in done.attempts)


async def test_a_receiver_that_never_answers_does_not_delay_a_healthy_one(
    hooks: Hooks, shop: Shop
) -> None:
    release = asyncio.Event()
    dead = await hooks.receiver(never_answering(release))
    healthy = await hooks.receiver(ok)
    await endpoint(shop.client, dead.url)
    await endpoint(shop.client, healthy.url)
    recorded = [await record(hooks.platform, shop.id) for _ in range(30)]
    # Attempts would wait a minute for the dead endpoint: a healthy endpoint delayed by it
    # would miss the 20 s the check below waits.
    deliverer = hooks.deliverer(timeout_seconds=60, concurrency=4)
    try:
        await hooks.until(deliverer, lambda: len(healthy.accepted) == len(recorded))
        assert sorted(healthy.event_ids()) == sorted(recorded)
        assert dead.received and not dead.accepted  # its attempts are still hanging
        assert len(dead.received) <= 4  # its own concurrency limit, nothing more
    finally:
        release.set()


async def test_enabled_events_filter_and_a_disabled_endpoint_gets_nothing(
    hooks: Hooks, shop: Shop
) -> None:
    picky = await hooks.receiver(ok)
    everything = await hooks.receiver(ok)
    paused = await hooks.receiver(ok)
    await endpoint(shop.client, picky.url, ("payment_intent.succeeded", "refund.created"))
    await endpoint(shop.client, everything.url)
    paused_endpoint = await endpoint(shop.client, paused.url)
    await shop.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(id=paused_endpoint.id, disabled=True)
    )
    created = await record(hooks.platform, shop.id, "payment_intent.created")
    succeeded = await record(hooks.platform, shop.id, "payment_intent.succeeded")
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)

    assert picky.event_ids() == [succeeded]
    assert sorted(everything.event_ids()) == sorted([created, succeeded])
    assert paused.received == []
    assert await deliveries(shop.client, paused_endpoint.id) == []

    enabled = await shop.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(id=paused_endpoint.id, disabled=False)
    )
    assert enabled.status == event_pb2.WEBHOOK_ENDPOINT_STATUS_ENABLED
    later = await record(hooks.platform, shop.id, "payment_intent.created")
    await hooks.deliver(deliverer)
    assert paused.event_ids() == [later]  # what happened while disabled was not queued


async def test_retry_after_is_honoured(hooks: Hooks, shop: Shop) -> None:
    receiver = await hooks.receiver(statuses([429], headers={"Retry-After": "120"}))
    created = await endpoint(shop.client, receiver.url)
    await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)
    (waiting,) = await deliveries(shop.client, created.id)
    assert (waiting.status, waiting.last_response_status) == (PENDING, 429)
    assert waiting.next_attempt == waiting.last_attempt + 120  # not "at once"
    hooks.clock.advance(seconds=119)
    await hooks.deliver(deliverer)
    assert len(receiver.received) == 1
    hooks.clock.advance(seconds=1)
    await hooks.deliver(deliverer)
    assert len(receiver.accepted) == 1


@pytest.mark.parametrize(
    ("retry_after", "wait_seconds"),
    [
        ("\u00b2", 0),  # a digit to str.isdigit, not to int(): ignored, the schedule's wait
        ("Fri, 31 Dec 99999 23:59:59 GMT", 0),  # no date: ignored
        ("9" * 5000, 10 * 3600),  # more digits than int() takes: the longest wait honoured
    ],
)
async def test_any_retry_after_is_recorded_and_retried(
    hooks: Hooks, shop: Shop, retry_after: str, wait_seconds: int
) -> None:
    """Whatever a receiver answers in Retry-After, its attempt is recorded and retried on the
    schedule (or after the wait it asks, at most 10 h). Before, "\u00b2" raised in the sender:
    no attempt was ever recorded, and the delivery was leased again every minute, for ever,
    never failing nor disabling anything."""
    receiver = await hooks.receiver(statuses([503], headers={"Retry-After": retry_after}))
    created = await endpoint(shop.client, receiver.url)
    await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)
    (first,) = await deliveries(shop.client, created.id)
    assert first.attempt_count >= 1 and first.attempts[0].response_status == 503
    if first.status == PENDING:  # else retried at once, as the schedule's first step says
        assert first.next_attempt == first.last_attempt + wait_seconds
    hooks.clock.advance(seconds=wait_seconds + 1)
    await hooks.deliver(deliverer)
    (done,) = await deliveries(shop.client, created.id)
    assert (done.status, done.attempt_count) == (SUCCEEDED, 2)
    assert [attempt.response_status for attempt in done.attempts] == [503, 200]


async def test_retry_after_is_honoured_only_on_429_and_503(hooks: Hooks, shop: Shop) -> None:
    """As the docs say (and Standard Webhooks): another failure's Retry-After is not a wait the
    receiver may ask for; its retry follows the schedule (the first at once)."""
    receiver = await hooks.receiver(statuses([500], headers={"Retry-After": "120"}))
    created = await endpoint(shop.client, receiver.url)
    await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer())
    (done,) = await deliveries(shop.client, created.id)
    assert (done.status, done.attempt_count) == (SUCCEEDED, 2)  # retried at once
    assert [attempt.response_status for attempt in done.attempts] == [500, 200]


async def test_410_disables_the_endpoint_with_an_event(hooks: Hooks, shop: Shop) -> None:
    gone = await hooks.receiver(statuses([410]))
    witness = await hooks.receiver(ok)
    created = await endpoint(shop.client, gone.url)
    await endpoint(shop.client, witness.url)
    await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)

    fetched = await shop.client.events.GetWebhookEndpoint(
        event_pb2.GetWebhookEndpointRequest(id=created.id)
    )
    assert fetched.status == event_pb2.WEBHOOK_ENDPOINT_STATUS_DISABLED
    (failed,) = await deliveries(shop.client, created.id)
    assert (failed.status, failed.attempt_count) == (FAILED, 1)
    disabled = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="webhook_endpoint.disabled")
    )
    assert [event.data.object.Is(event_pb2.WebhookEndpoint.DESCRIPTOR) for event in disabled.data]
    (event,) = disabled.data
    unpacked = event_pb2.WebhookEndpoint()
    event.data.object.Unpack(unpacked)
    assert (unpacked.id, unpacked.secret) == (created.id, "")
    # The other endpoint is told, the disabled one is not.
    assert event.id in witness.event_ids()
    assert len(gone.received) == 1


async def test_an_endpoint_failing_for_three_days_is_disabled(hooks: Hooks, shop: Shop) -> None:
    failing = await hooks.receiver(statuses([500] * 1000))
    created = await endpoint(shop.client, failing.url)
    await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()
    for _ in range(30):
        await hooks.deliver(deliverer)
        (delivery,) = await deliveries(shop.client, created.id)
        if delivery.status != PENDING:
            break
        # To the second the next attempt is due (the log shows whole seconds).
        hooks.clock.now = datetime.fromtimestamp(delivery.next_attempt + 1, UTC)
    assert delivery.status == FAILED
    times = [attempt.attempted for attempt in delivery.attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h... and a last one at the three days
    # (0 + 5 + 300 + 1800 + 7200 + 18000 + 6 * 36000 = 243305 s, the next 10 h would pass 72 h)
    schedule = [0, 5, 300, 1800, 7200, 18000] + [36000] * 6
    assert len(gaps) == len(schedule) + 1
    for gap, expected in zip(gaps, schedule, strict=False):
        assert expected <= gap <= expected + 1
    three_days = int(timedelta(days=3).total_seconds())
    assert three_days <= times[-1] - times[0] <= three_days + len(gaps)
    fetched = await shop.client.events.GetWebhookEndpoint(
        event_pb2.GetWebhookEndpointRequest(id=created.id)
    )
    assert fetched.status == event_pb2.WEBHOOK_ENDPOINT_STATUS_DISABLED
    disabled = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="webhook_endpoint.disabled")
    )
    assert len(disabled.data) == 1


async def test_a_resend_delivers_the_event_again_as_a_new_delivery(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(ok)
    created = await endpoint(shop.client, receiver.url)
    event_id = await record(hooks.platform, shop.id)
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)
    resent = await shop.client.events.ResendEvent(
        event_pb2.ResendEventRequest(id=event_id, webhook_endpoint=created.id)
    )
    assert (resent.status, resent.event, resent.attempt_count) == (PENDING, event_id, 0)
    hooks.clock.advance(seconds=60)  # the resend is due at the server's now, after the fixture's
    await hooks.deliver(deliverer)
    assert receiver.event_ids() == [event_id, event_id]
    log = await deliveries(shop.client, event_id=event_id)
    assert {delivery.status for delivery in log} == {SUCCEEDED}
    assert len(log) == 2


async def test_a_resend_goes_only_to_an_endpoint_that_wants_the_events_type(
    hooks: Hooks, shop: Shop
) -> None:
    """As Stripe's: a resend targets an endpoint the event is sent to; one whose
    enabled_events leave the type out is refused, naming `webhook_endpoint`, and nothing is
    queued or delivered. Changing its enabled_events to take the type lets the resend go."""
    receiver = await hooks.receiver(ok)
    refunds_only = await endpoint(shop.client, receiver.url, ("refund.created",))
    event_id = await record(hooks.platform, shop.id, "payment_intent.created")
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)
    with pytest.raises(aio.AioRpcError) as refused:
        await shop.client.events.ResendEvent(
            event_pb2.ResendEventRequest(id=event_id, webhook_endpoint=refunds_only.id)
        )
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "webhook_endpoint")
    assert "payment_intent.created" in (refused.value.details() or "")
    hooks.clock.advance(seconds=60)
    await hooks.deliver(deliverer)
    assert receiver.event_ids() == []
    assert await deliveries(shop.client, refunds_only.id) == []

    await shop.client.events.UpdateWebhookEndpoint(
        event_pb2.UpdateWebhookEndpointRequest(
            id=refunds_only.id, enabled_events=["refund.created", "payment_intent.created"]
        )
    )
    resent = await shop.client.events.ResendEvent(
        event_pb2.ResendEventRequest(id=event_id, webhook_endpoint=refunds_only.id)
    )
    assert (resent.status, resent.event) == (PENDING, event_id)
    hooks.clock.advance(seconds=120)
    await hooks.deliver(deliverer)
    assert receiver.event_ids() == [event_id]
