"""ListEvents' Stripe filters: `type` (exact or `<prefix>.*`), `types[]` (up to 20) and
`created[gt|gte|lt|lte]` (unix seconds, compared with each event's `created`), over gRPC and
through the REST edge with stripe-python's `stripe.Event.list`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
import pytest_asyncio
import stripe
from aiohttp import ClientSession
from grpc import aio
from paycore.app import Platform
from paycore.edge import start_edge
from paycore.storage.schema import events
from paycore.v1 import common_pb2, event_pb2
from sqlalchemy import update

from tests.events.support import record
from tests.helpers import MerchantFixture, rich_error

# Four moments a hundred seconds apart, long past: each event below is moved to one of them,
# half a second in, so that `created` (whole seconds) is the moment and bounds are exact.
MOMENTS = [1_700_000_000 + 100 * step for step in range(4)]
TYPES = ["payment_intent.created", "payment_intent.succeeded", "refund.created", "payout.paid"]


async def _recorded_at_moments(platform: Platform, merchant_id: str) -> list[str]:
    """One event of each of TYPES, the first at MOMENTS[0], ..., oldest first."""
    recorded = []
    for event_type, moment in zip(TYPES, MOMENTS, strict=True):
        event_id = await record(platform, merchant_id, event_type)
        async with platform.shards.transaction(merchant_id) as connection:
            await connection.execute(
                update(events)
                .where(events.c.merchant_id == merchant_id, events.c.id == event_id)
                .values(created_at=datetime.fromtimestamp(moment + 0.5, UTC))
            )
        recorded.append(event_id)
    return recorded


async def _listed(merchant: MerchantFixture, **fields: object) -> list[str]:
    page = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(**fields)  # type: ignore[arg-type]
    )
    return [event.id for event in page.data]


async def test_created_bounds_select_by_the_events_created_seconds(
    platform: Platform, merchant: MerchantFixture
) -> None:
    first, second, third, fourth = await _recorded_at_moments(platform, merchant.merchant.id)
    read = await merchant.client.events.GetEvent(event_pb2.GetEventRequest(id=second))
    assert read.created == MOMENTS[1]

    def created(**bounds: int) -> common_pb2.TimestampRange:
        return common_pb2.TimestampRange(**bounds)

    assert await _listed(merchant, created=created(gt=MOMENTS[1])) == [fourth, third]
    assert await _listed(merchant, created=created(gte=MOMENTS[1])) == [fourth, third, second]
    assert await _listed(merchant, created=created(lt=MOMENTS[1])) == [first]
    assert await _listed(merchant, created=created(lte=MOMENTS[1])) == [second, first]
    between = created(gte=MOMENTS[1], lte=MOMENTS[2])
    assert await _listed(merchant, created=between) == [third, second]
    # gt 0 is a bound, not "unset": every event here is later than the epoch.
    assert await _listed(merchant, created=created(gt=0)) == [fourth, third, second, first]
    assert await _listed(merchant, created=created(gt=MOMENTS[3])) == []
    assert await _listed(merchant, created=created(gt=MOMENTS[2], lt=MOMENTS[1])) == []
    # Combined with the other filters and with paging.
    assert await _listed(merchant, created=created(lt=MOMENTS[3]), type="payment_intent.*") == [
        second,
        first,
    ]
    assert await _listed(merchant, created=created(gte=MOMENTS[0]), limit=1) == [fourth]
    after = await _listed(merchant, created=created(lte=MOMENTS[2]), starting_after=third)
    assert after == [second, first]


async def test_types_lists_events_of_any_of_them(
    platform: Platform, merchant: MerchantFixture
) -> None:
    first, second, third, fourth = await _recorded_at_moments(platform, merchant.merchant.id)
    assert await _listed(merchant, types=["refund.created", "payment_intent.created"]) == [
        third,
        first,
    ]
    assert await _listed(merchant, types=["payout.*", "payment_intent.succeeded"]) == [
        fourth,
        second,
    ]
    assert await _listed(merchant, types=["payout.paid"]) == [fourth]


@pytest.mark.parametrize(
    ("request_fields", "param"),
    [
        ({"types": ["payment_intent.created", "payment_intent.exploded"]}, "types[1]"),
        ({"types": ["nothing.*"]}, "types[0]"),
        ({"types": ["payment_intent.created"] * 21}, "types"),
        ({"types": ["refund.created"], "type": "refund.created"}, "types"),
        ({"created": common_pb2.TimestampRange(gt=-1)}, "created.gt"),
        ({"created": common_pb2.TimestampRange(gte=-5)}, "created.gte"),
        ({"created": common_pb2.TimestampRange(lt=253402300800)}, "created.lt"),
        ({"created": common_pb2.TimestampRange(lte=2**62)}, "created.lte"),
    ],
)
async def test_bad_filters_are_invalid_naming_the_field(
    merchant: MerchantFixture, request_fields: dict[str, object], param: str
) -> None:
    with pytest.raises(aio.AioRpcError) as refused:
        await _listed(merchant, **request_fields)
    error = rich_error(refused.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, param)


@pytest_asyncio.fixture
async def edge_url(target: str) -> AsyncIterator[str]:
    server = await start_edge(target, "127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_stripe_python_lists_events_by_type_and_created(
    platform: Platform,
    merchant: MerchantFixture,
    edge_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, third, fourth = await _recorded_at_moments(platform, merchant.merchant.id)
    monkeypatch.setattr(stripe, "api_base", edge_url)
    monkeypatch.setattr(stripe, "api_key", merchant.merchant.secret_key)
    monkeypatch.setattr(stripe, "max_network_retries", 0)

    def scenario() -> None:
        def ids(**params: object) -> list[str]:
            return [event.id for event in stripe.Event.list(**params).data]  # type: ignore[arg-type]

        assert ids(created={"gte": MOMENTS[1], "lt": MOMENTS[3]}) == [third, second]
        assert ids(created={"gt": MOMENTS[0]}, type="payment_intent.*") == [second]
        assert ids(type="refund.created", created={"lte": MOMENTS[3]}) == [third]
        assert ids(types=["payout.paid", "payment_intent.created"]) == [fourth, first]
        listed = stripe.Event.list(created={"lte": MOMENTS[1]}, limit=1)
        assert [event.id for event in listed.auto_paging_iter()] == [second, first]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.Event.list(created={"gt": -1})
        assert (refused.value.http_status, refused.value.param) == (400, "created[gt]")
        with pytest.raises(stripe.InvalidRequestError) as both:
            stripe.Event.list(type="payout.paid", types=["payout.paid"])
        assert both.value.param == "types"

    await asyncio.to_thread(scenario)


async def test_a_created_bound_that_is_not_a_number_is_refused_on_rest(
    merchant: MerchantFixture, edge_url: str
) -> None:
    headers = {"Authorization": f"Bearer {merchant.merchant.secret_key}"}
    async with ClientSession(edge_url, headers=headers) as http:
        answer = await http.get("/v1/events", params={"created[gte]": "yesterday"})
        body = await answer.json()
        assert answer.status == 400, body
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["param"] == "created[gte]"
        # Stripe's created=<seconds> (no bound) is that second; not one, refused naming it.
        exact = await http.get("/v1/events", params={"created": str(MOMENTS[0])})
        assert (exact.status, (await exact.json())["data"]) == (200, [])
        bad = await http.get("/v1/events", params={"created": "yesterday"})
        assert (bad.status, (await bad.json())["error"]["param"]) == (400, "created")
        listed = await http.get("/v1/events", params={"created[gte]": str(MOMENTS[0])})
        assert listed.status == 200, await listed.text()
        assert (await listed.json())["data"] == []
