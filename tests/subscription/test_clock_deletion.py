"""ListTestClocks and DeleteTestClock (Stripe's `GET /v1/test_helpers/test_clocks` and
`TestClock.delete`): deleting a clock deletes its customers and cancels the subscriptions on
it at once; the clock is then found by nothing."""

from __future__ import annotations

import secrets

import grpc
from paycore.client import Paycore, idempotency_key
from paycore.v1 import customer_pb2, event_pb2, subscription_pb2

from tests.customer.support import failure, new_customer
from tests.payment.shop import PayIn, Shop, good_card
from tests.subscription.support import JAN_31_2026, Billed

S = subscription_pb2


async def new_clock(client: Paycore, name: str = "") -> S.TestClock:
    created: S.TestClock = await client.subscriptions.CreateTestClock(
        S.CreateTestClockRequest(frozen_time=JAN_31_2026, name=name)
    )
    return created


async def delete_clock(client: Paycore, clock_id: str, key: str = "") -> S.DeleteTestClockResponse:
    deleted: S.DeleteTestClockResponse = await client.subscriptions.DeleteTestClock(
        S.DeleteTestClockRequest(id=clock_id), metadata=idempotency_key(key) if key else None
    )
    return deleted


async def listed_ids(
    client: Paycore, limit: int = 0, starting_after: str = ""
) -> tuple[list[str], bool]:
    listed = await client.subscriptions.ListTestClocks(
        S.ListTestClocksRequest(limit=limit, starting_after=starting_after)
    )
    return [clock.id for clock in listed.data], listed.has_more


async def test_clocks_list_newest_first_in_pages_without_the_deleted(
    shop: Shop,
) -> None:
    client = shop.client
    first, second, third = [await new_clock(client, f"clock {n}") for n in range(3)]
    assert await listed_ids(client) == ([third.id, second.id, first.id], False)
    assert await listed_ids(client, limit=2) == ([third.id, second.id], True)
    assert await listed_ids(client, limit=2, starting_after=second.id) == ([first.id], False)

    deleted = await delete_clock(client, second.id)
    assert deleted == S.DeleteTestClockResponse(id=second.id, deleted=True)
    assert await listed_ids(client) == ([third.id, first.id], False)
    read = await failure(
        client.subscriptions.GetTestClock(S.GetTestClockRequest(id=second.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert read.param == "id"
    again = await failure(
        client.subscriptions.DeleteTestClock(S.DeleteTestClockRequest(id=second.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert again.param == "id"
    advance = await failure(
        client.subscriptions.AdvanceTestClock(
            S.AdvanceTestClockRequest(id=second.id, frozen_time=JAN_31_2026 + 60)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert advance.param == "id"
    on_it = await failure(
        client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest(test_clock=second.id)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert on_it.param == "test_clock"
    bad_limit = await failure(
        client.subscriptions.ListTestClocks(S.ListTestClocksRequest(limit=101)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_limit.param == "limit"


async def test_a_replay_with_the_key_answers_the_same_and_records_one_event(
    shop: Shop,
) -> None:
    client = shop.client
    clock = await new_clock(client)
    key = f"delete-clock-{secrets.token_hex(4)}"
    first = await delete_clock(client, clock.id, key)
    assert await delete_clock(client, clock.id, key) == first
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="test_helpers.test_clock.deleted", limit=10)
    )
    found = []
    for event in listed.data:
        deleted = S.TestClock()
        assert event.data.object.Unpack(deleted)
        found.append(deleted.id)
    assert found == [clock.id]


async def test_an_advancing_clock_is_not_deleted(shop: Shop) -> None:
    client = shop.client
    clock = await new_clock(client)
    await client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=clock.id, frozen_time=JAN_31_2026 + 86_400)
    )
    refused = await failure(
        client.subscriptions.DeleteTestClock(S.DeleteTestClockRequest(id=clock.id)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert (refused.reason, refused.param) == ("TEST_CLOCK_ADVANCING", "id")
    assert clock.id in refused.message
    assert (await listed_ids(client))[0] == [clock.id]


async def test_deleting_a_clock_deletes_its_customers_and_ends_its_subscriptions(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    client = billed.client
    # A customer of its own on no clock, with a subscription on the clock: the subscription
    # ends, the customer stays (Stripe deletes the clock's customers only).
    named = await billed.subscribe()
    await billed.drain()
    # A customer on the clock: deleted with it, its subscription with it.
    on_clock = await new_customer(client, test_clock=billed.clock, payment_method="pm_card_visa")
    on_clock_card = (
        (
            await client.customers.ListPaymentMethods(
                customer_pb2.ListPaymentMethodsRequest(customer=on_clock.id)
            )
        )
        .data[0]
        .id
    )
    its_subscription = await billed.subscribe(
        customer=on_clock.id, default_payment_method=on_clock_card
    )
    await billed.drain()
    # On another clock: untouched.
    other_clock = await new_clock(client)
    bystander = await new_customer(client, test_clock=other_clock.id)

    await delete_clock(client, billed.clock)

    for subscription_id in (named.id, its_subscription.id):
        ended = await billed.subscription(subscription_id)
        assert ended.status == S.SUBSCRIPTION_STATUS_CANCELED
        assert ended.ended_at == JAN_31_2026  # the clock's time, which stays
    await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=billed.customer))
    gone = await failure(
        client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=on_clock.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert gone.param == "id"
    card = await client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=on_clock_card)
    )
    assert card.customer == ""
    still = await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=bystander.id))
    assert still.test_clock == other_clock.id
    listed = await client.events.ListEvents(event_pb2.ListEventsRequest(limit=10))
    assert [event.type for event in listed.data][:5] == [
        "test_helpers.test_clock.deleted",
        "customer.subscription.deleted",  # the clock's other subscription, after its customers
        "customer.deleted",
        "payment_method.detached",
        "customer.subscription.deleted",
    ]
