"""Reconciliation's events are operator data (docs/reconciliation.md, docs/webhooks.md): a
discrepancy's event is recorded on its merchant's shard, and only operators read it. The
merchant's ListEvents and GetEvent do not show it, its webhook endpoints (even `*`) are not
sent it and cannot enable it; an operator acting for the merchant reads it as before."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.client import connect
from paycore.events import record_event
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import event_pb2, reconciliation_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import ok
from tests.webhooks.support import endpoint

DISCREPANCY_CREATED = "reconciliation.discrepancy.created"


async def _discrepancy_event(hooks: Hooks, merchant_id: str) -> str:
    """What reconciliation records for a discrepancy of the merchant's (its owner's shard)."""
    discrepancy = reconciliation_pb2.Discrepancy(
        id=new_id(Prefix.DISCREPANCY, logical_shard_of(merchant_id, Prefix.ACCOUNT)),
        merchant=merchant_id,
        date="2026-12-01",
    )
    async with hooks.platform.shards.transaction(merchant_id) as connection:
        return await record_event(connection, merchant_id, DISCREPANCY_CREATED, discrepancy)


async def test_a_merchant_neither_lists_nor_gets_nor_receives_a_discrepancy_event(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(ok)
    await endpoint(shop.client, receiver.url)  # every event: `*`
    hidden = await _discrepancy_event(hooks, shop.id)
    shown = await _discrepancy_event(hooks, shop.id)
    await hooks.deliver(hooks.deliverer())

    listed = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    assert hidden not in [event.id for event in listed.data]
    filtered = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(limit=100, type="reconciliation.*")
    )
    assert list(filtered.data) == []
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.events.GetEvent(event_pb2.GetEventRequest(id=hidden))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert receiver.event_ids() == []

    async with connect(hooks.target, hooks.settings.admin_token, acting_for=shop.id) as operator:
        seen = await operator.events.ListEvents(
            event_pb2.ListEventsRequest(limit=100, type="reconciliation.*")
        )
        got = await operator.events.GetEvent(event_pb2.GetEventRequest(id=shown))
    assert {event.id for event in seen.data} == {hidden, shown}
    assert got.type == DISCREPANCY_CREATED


async def test_a_merchant_endpoint_cannot_enable_a_reconciliation_event(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(ok)

    with pytest.raises(aio.AioRpcError) as raised:
        await endpoint(shop.client, receiver.url, ("charge.succeeded", DISCREPANCY_CREATED))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "enabled_events[1]"


async def test_a_discrepancy_event_is_never_resent_to_a_merchants_endpoint(
    hooks: Hooks, shop: Shop
) -> None:
    """A resend is a delivery like any other: an operators' event reaches no merchant
    endpoint, `*` included. The merchant's key is told it does not exist (as GetEvent tells
    it); nothing is queued."""
    receiver = await hooks.receiver(ok)
    every = await endpoint(shop.client, receiver.url)
    hidden = await _discrepancy_event(hooks, shop.id)
    deliverer = hooks.deliverer()
    await hooks.deliver(deliverer)
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.events.ResendEvent(
            event_pb2.ResendEventRequest(id=hidden, webhook_endpoint=every.id)
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(raised.value).reason == "RESOURCE_MISSING"
    async with connect(hooks.target, hooks.settings.admin_token, acting_for=shop.id) as operator:
        with pytest.raises(aio.AioRpcError) as by_operator:
            await operator.events.ResendEvent(
                event_pb2.ResendEventRequest(id=hidden, webhook_endpoint=every.id)
            )
        assert by_operator.value.code() in (
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    with pytest.raises(aio.AioRpcError) as filtered:  # as an unknown event: no hint it exists
        await shop.client.events.ListDeliveries(event_pb2.ListDeliveriesRequest(event=hidden))
    assert rich_error(filtered.value).reason == "RESOURCE_MISSING"
    assert rich_error(filtered.value).param == "event"
    hooks.clock.advance(seconds=120)
    await hooks.deliver(deliverer)
    assert receiver.event_ids() == []
