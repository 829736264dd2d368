"""A List's answer fits the 4 MiB every gRPC client takes by default (grpc's
max_receive_message_length; ghz's, grpcurl's, the typed client's): a page of large objects (100
`customer.updated` events of a customer with full metadata, about 55 KiB each) is cut short,
`has_more` set, instead of the server refusing to send its own answer (RESOURCE_EXHAUSTED "Sent
message larger than max", no ErrorInfo). Walking the list forward or backward still meets
every object once."""

from __future__ import annotations

from paycore.runtime.interceptors.size import ANSWER_BYTES_MAX
from paycore.v1 import customer_pb2, event_pb2

from tests.helpers import MerchantFixture

UPDATES = 100
GRPC_DEFAULT_RECEIVE_MAX = 4 * 1024 * 1024


def _full_metadata(tag: str) -> dict[str, str]:
    return {f"key_{number:02d}_{'k' * 30}": (tag + "v" * 500)[:500] for number in range(50)}


async def test_a_page_too_large_for_a_client_is_cut_short_and_walks_whole(
    merchant: MerchantFixture,
) -> None:
    client = merchant.client
    customer = await client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Big", metadata=_full_metadata("first"))
    )
    for number in range(UPDATES):
        await client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(id=customer.id, metadata=_full_metadata(f"{number}"))
        )
    updated = event_pb2.ListEventsRequest(limit=100, type="customer.updated")

    page = await client.events.ListEvents(updated)

    assert page.ByteSize() <= ANSWER_BYTES_MAX < GRPC_DEFAULT_RECEIVE_MAX
    assert 0 < len(page.data) < UPDATES
    assert page.has_more
    forward = [event.id for event in page.data]
    while page.has_more:
        updated.starting_after = forward[-1]
        page = await client.events.ListEvents(updated)
        forward += [event.id for event in page.data]
    assert len(forward) == len(set(forward)) == UPDATES

    backward: list[str] = []
    newer = event_pb2.ListEventsRequest(
        limit=100, type="customer.updated", ending_before=forward[-1]
    )
    while True:
        page = await client.events.ListEvents(newer)
        assert page.ByteSize() <= ANSWER_BYTES_MAX
        backward = [event.id for event in page.data] + backward
        if not page.has_more:
            break
        newer.ending_before = backward[0]
    assert backward + forward[-1:] == forward
