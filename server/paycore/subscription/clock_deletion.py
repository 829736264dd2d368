"""DeleteTestClock, as Stripe's (also while the clock advances): the clock's customers are
deleted (DeleteCustomer's own path, which the composition root passes in, since
paycore.customer's service sits above this package), the other subscriptions on the clock end
at once, and the clock is marked deleted with its `test_helpers.test_clock.deleted` event, all
in the request's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from paycore.customer.repository import CustomerRepository
from paycore.subscription import lifecycle
from paycore.subscription.changes import end_subscriptions
from paycore.subscription.collection import Collection
from paycore.subscription.events import TEST_CLOCK_DELETED
from paycore.subscription.models import TestClock
from paycore.subscription.repository import TestClockRepository
from sqlalchemy.ext.asyncio import AsyncConnection

DeleteCustomer = Callable[[AsyncConnection, str, str], Awaitable[object]]
"""(connection, merchant id, customer id): deletes the customer in the open transaction."""


async def delete_test_clock(
    connection: AsyncConnection,
    collection: Collection,
    delete_customer: DeleteCustomer,
    merchant_id: str,
    clock_id: str,
) -> TestClock:
    """NOT_FOUND for a clock the merchant does not have (or deleted already). A clock that is
    advancing is deleted too, as Stripe allows, and its advance stops: every subscription on
    it (and its customers') ends here, under the locks the billing job takes per action, so
    a billing action either committed before (its renewal and charge stand; a charge in flight
    still settles its invoice, paycore.subscription.billing) or finds the subscription ended
    after; a deleted clock never becomes ready (`Billing._ready_clocks`)."""
    await lifecycle.live_clock(connection, merchant_id, clock_id)
    for customer_id in await CustomerRepository(connection).on_clock(merchant_id, clock_id):
        await delete_customer(connection, merchant_id, customer_id)
    await end_subscriptions(collection, connection, merchant_id, clock_id=clock_id)
    deleted = await TestClockRepository(connection).mark_deleted(merchant_id, clock_id)
    await collection.events.test_clock.record(connection, TEST_CLOCK_DELETED, deleted)
    return deleted
