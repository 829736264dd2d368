"""Events: written in the caller's transaction (record_event), read by GetEvent / ListEvents."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.app import Platform
from paycore.errors import ApiError, Reason
from paycore.events import EVENT_TYPES, UnknownEventType, record_event
from paycore.events.models import TypeFilter
from paycore.events.repository import EVENTS
from paycore.storage.reads import Cursor
from paycore.storage.schema import events
from paycore.v1 import event_pb2, payment_pb2
from sqlalchemy import func, select

from tests.events.support import payment_intent, record
from tests.helpers import MerchantFixture, rich_error


async def _count(platform: Platform, merchant_id: str) -> int:
    async with platform.shards.read(merchant_id) as connection:
        counted = await connection.execute(
            select(func.count()).select_from(events).where(events.c.merchant_id == merchant_id)
        )
        return int(counted.scalar_one())


async def test_an_event_written_in_a_rolled_back_transaction_leaves_nothing(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    async with platform.shards.transaction(merchant_id) as connection:
        event_id = await record_event(
            connection, merchant_id, "payment_intent.created", payment_intent(merchant_id)
        )
        # Inside the transaction the event is there, as the change it describes would be.
        found = await connection.execute(EVENTS.by_id(merchant_id, event_id))
        assert found.first() is not None
        await connection.rollback()
    assert await _count(platform, merchant_id) == 0
    with pytest.raises(ApiError) as missing:
        await platform.events.get_event(merchant_id, event_id)
    assert missing.value.reason is Reason.RESOURCE_MISSING
    with pytest.raises(aio.AioRpcError) as over_grpc:
        await merchant.client.events.GetEvent(event_pb2.GetEventRequest(id=event_id))
    assert over_grpc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_recorded_event_reads_back_with_its_object_over_grpc(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    intent = payment_intent(merchant_id, amount=5000)
    async with platform.shards.transaction(merchant_id) as connection:
        event_id = await record_event(connection, merchant_id, "payment_intent.succeeded", intent)
    assert event_id.startswith("evt_")

    event = await merchant.client.events.GetEvent(event_pb2.GetEventRequest(id=event_id))
    assert (event.id, event.type, event.pending_webhooks) == (
        event_id,
        "payment_intent.succeeded",
        0,
    )
    assert event.created > 0
    read_back = payment_pb2.PaymentIntent()
    assert event.data.object.Unpack(read_back)
    assert read_back == intent

    stored = await platform.events.get_event(merchant_id, event_id)
    assert stored.object_id == intent.id  # taken from the message's id
    assert stored.object_type == "paycore.v1.PaymentIntent"
    # The edge's JSON: int64 as strings, enums lowercase without their prefix.
    assert stored.data["amount"] == "5000"
    assert stored.data["status"] == "requires_capture"
    assert stored.data["metadata"] == {"order": "42"}


async def test_an_uncatalogued_type_is_refused_and_writes_nothing(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    assert "payment_intent.succeeded" in EVENT_TYPES
    with pytest.raises(UnknownEventType):
        await record(platform, merchant_id, "payment_intent.exploded")
    assert await _count(platform, merchant_id) == 0


async def test_an_explicit_object_id_is_kept(platform: Platform, merchant: MerchantFixture) -> None:
    merchant_id = merchant.merchant.id
    async with platform.shards.transaction(merchant_id) as connection:
        event_id = await record_event(
            connection,
            merchant_id,
            "charge.dispute.created",
            payment_intent(merchant_id),
            object_id="dp_elsewhere",
        )
    assert (await platform.events.get_event(merchant_id, event_id)).object_id == "dp_elsewhere"


async def test_another_merchants_event_is_not_found(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    event_id = await record(platform, merchant.merchant.id)
    with pytest.raises(aio.AioRpcError) as hidden:
        await other_merchant.client.events.GetEvent(event_pb2.GetEventRequest(id=event_id))
    error = rich_error(hidden.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_MISSING",
        "id",
    )
    listed = await other_merchant.client.events.ListEvents(event_pb2.ListEventsRequest())
    assert list(listed.data) == []
    assert not listed.has_more


async def test_list_events_newest_first_in_pages_and_by_type(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    recorded = [
        await record(platform, merchant_id, event_type)
        for event_type in (
            "payment_intent.created",
            "payment_intent.succeeded",
            "payment.created",
            "payment_intent.canceled",
            "refund.created",
        )
    ]
    newest_first = list(reversed(recorded))
    client = merchant.client.events

    seen: list[str] = []
    starting_after = ""
    while True:
        page = await client.ListEvents(
            event_pb2.ListEventsRequest(limit=2, starting_after=starting_after)
        )
        seen += [event.id for event in page.data]
        if not page.has_more:
            break
        starting_after = page.data[-1].id
    assert seen == newest_first

    exact = await client.ListEvents(event_pb2.ListEventsRequest(type="payment.created"))
    assert [event.id for event in exact.data] == [recorded[2]]
    prefixed = await client.ListEvents(event_pb2.ListEventsRequest(type="payment_intent.*"))
    assert [event.id for event in prefixed.data] == [recorded[3], recorded[1], recorded[0]]
    # "_" is a LIKE wildcard: "payment.*" must not match "payment_intent.*" nor payment_order.
    payments = await client.ListEvents(event_pb2.ListEventsRequest(type="payment.*"))
    assert [event.id for event in payments.data] == [recorded[2]]

    in_domain = await platform.events.list_events(
        merchant_id, Cursor(10, recorded[2]), TypeFilter(prefixes=("payment_intent.",))
    )
    assert [event.id for event in in_domain.data] == [recorded[1], recorded[0]]


@pytest.mark.parametrize(
    ("request_fields", "param"),
    [
        ({"type": "payment_intent.exploded"}, "type"),
        ({"type": "nothing.*"}, "type"),
        ({"limit": 101}, "limit"),
        ({"starting_after": "pi_123"}, "starting_after"),
    ],
)
async def test_bad_list_arguments_name_the_field(
    merchant: MerchantFixture, request_fields: dict[str, object], param: str
) -> None:
    with pytest.raises(aio.AioRpcError) as refused:
        await merchant.client.events.ListEvents(
            event_pb2.ListEventsRequest(**request_fields)  # type: ignore[arg-type]
        )
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, param)


async def test_a_malformed_event_id_is_invalid(merchant: MerchantFixture) -> None:
    with pytest.raises(aio.AioRpcError) as refused:
        await merchant.client.events.GetEvent(event_pb2.GetEventRequest(id="pi_123"))
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "id")
