"""ListTestClocks and DeleteTestClock (Stripe's `GET /v1/test_helpers/test_clocks` and
`TestClock.delete`): deleting a clock deletes its customers and cancels the subscriptions on
it at once; the clock is then found by nothing."""

from __future__ import annotations

import asyncio
import secrets

import grpc
import pytest
from paycore.client import Paycore, idempotency_key
from paycore.v1 import customer_pb2, event_pb2, subscription_pb2
from sqlalchemy import text

from tests.customer.support import failure, new_customer
from tests.customer.test_customer_deletion import _done_or_waiting
from tests.ledger.support import integrity_ok
from tests.payment.shop import PayIn, Shop, good_card
from tests.subscription.support import JAN_31_2026, Billed, billing_job, work_once

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


@pytest.mark.parametrize(
    ("renewal_card", "renewal_status"),
    [("", S.INVOICE_STATUS_PAID), ("4000000000000002", S.INVOICE_STATUS_OPEN)],
    ids=["charge-succeeds", "charge-declined"],
)
async def test_an_advancing_clock_can_be_deleted_and_its_advance_stops(
    payin: PayIn, shop: Shop, renewal_card: str, renewal_status: int
) -> None:
    """As Stripe allows: DeleteTestClock while the clock advances. Here the billing job has
    taken one step of a five-month advance (the first renewal's invoice, its charge in
    flight) when the clock is deleted: the subscription ends at the clock's time, the charge
    in flight still settles its invoice (paid, or open after a decline, never retried; the
    subscription stays canceled), no later period is billed, the deleted clock never becomes
    ready, the billing job finds nothing more to do, and the books balance."""
    billed = await Billed(payin, shop).setup(good_card())
    client = billed.client
    subscription = await billed.subscribe()
    await billed.drain()
    assert len(await billed.invoices(subscription.id)) == 1
    if renewal_card:
        declining = await shop.card(renewal_card, billed.customer)
        await client.subscriptions.UpdateSubscription(
            S.UpdateSubscriptionRequest(id=subscription.id, default_payment_method=declining)
        )
    target = JAN_31_2026 + 150 * 86_400
    await client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billed.clock, frozen_time=target)
    )
    async with payin.platform.shards.transaction(shop.id) as connection:
        step = await payin.platform.billing_clock.step(connection, shop.id, subscription.id)
    assert step.settle is not None  # the renewal's charge, started and not settled

    deleted = await delete_clock(client, billed.clock)
    assert deleted == S.DeleteTestClockResponse(id=billed.clock, deleted=True)
    ended = await billed.subscription(subscription.id)
    assert ended.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert ended.ended_at == target

    job = billing_job(payin)
    for _ in range(20):
        if await work_once(payin, job) == 0:
            break
    else:
        raise AssertionError("the billing job kept finding work after the clock was deleted")
    invoices = await billed.invoices(subscription.id)
    assert [invoice.status for invoice in invoices] == [S.INVOICE_STATUS_PAID, renewal_status]
    assert not invoices[-1].next_payment_attempt
    async with payin.platform.shards.read(shop.id) as connection:
        due = await connection.execute(
            text("SELECT next_action_at FROM subscriptions WHERE id = :id"),
            {"id": subscription.id},
        )
        assert due.scalar_one() is None  # never claimed by the billing job again
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_CANCELED
    read = await failure(
        client.subscriptions.GetTestClock(S.GetTestClockRequest(id=billed.clock)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert read.param == "id"
    listed = await client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    assert "test_helpers.test_clock.ready" not in [event.type for event in listed.data][:20]
    again = await failure(
        client.subscriptions.AdvanceTestClock(
            S.AdvanceTestClockRequest(id=billed.clock, frozen_time=target + 86_400)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert again.param == "id"
    await integrity_ok(payin.admin, shop.id)


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


async def test_a_subscription_racing_the_clocks_deletion_is_refused(
    payin: PayIn, shop: Shop
) -> None:
    """CreateSubscription naming a test clock (its customer on none) while a DeleteTestClock of
    that clock is uncommitted: it waits for the deletion, then finds the clock gone
    (RESOURCE_MISSING, INVALID_ARGUMENT, naming `test_clock`), rather than leaving a live
    subscription on a deleted clock, which the deletion ended nothing of."""
    billed = await Billed(payin, shop).setup(good_card())
    async with payin.platform.shards.transaction(shop.id) as connection:
        await payin.platform.billing.delete_clock(connection, shop.id, billed.clock)
        creating = asyncio.ensure_future(billed.subscribe())
        await _done_or_waiting(payin, shop, creating)
    refused = await failure(creating, grpc.StatusCode.INVALID_ARGUMENT)
    assert (refused.reason, refused.param) == ("RESOURCE_MISSING", "test_clock")
    listed = await billed.client.subscriptions.ListSubscriptions(
        S.ListSubscriptionsRequest(customer=billed.customer)
    )
    assert [subscription.status for subscription in listed.data] == []


async def test_a_customer_racing_the_clocks_deletion_is_refused(payin: PayIn, shop: Shop) -> None:
    """CreateCustomer on a test clock whose DeleteTestClock is uncommitted: it waits, then finds
    the clock gone (RESOURCE_MISSING, INVALID_ARGUMENT, naming `test_clock`); no customer is
    left on a deleted clock."""
    clock = await new_clock(shop.client)
    async with payin.platform.shards.transaction(shop.id) as connection:
        await payin.platform.billing.delete_clock(connection, shop.id, clock.id)
        creating = asyncio.ensure_future(
            shop.client.customers.CreateCustomer(
                customer_pb2.CreateCustomerRequest(email="late@example.com", test_clock=clock.id)
            )
        )
        await _done_or_waiting(payin, shop, creating)
    refused = await failure(creating, grpc.StatusCode.INVALID_ARGUMENT)
    assert (refused.reason, refused.param) == ("RESOURCE_MISSING", "test_clock")
    listed = await shop.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="late@example.com")
    )
    assert list(listed.data) == []
