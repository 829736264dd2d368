"""What every change to a subscription shares: its clock's "now", when the billing job has
to look at it next, and saving it with its event."""

from __future__ import annotations

import time
from dataclasses import replace

from paycore.errors import ApiError, Reason, not_found
from paycore.invariants import violated
from paycore.payment.off_session import OffSessionCharges
from paycore.subscription.events import (
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_DELETED,
    SUBSCRIPTION_UPDATED,
    SubscriptionEvents,
)
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.models import (
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
    TestClock,
    TestClockStatus,
)
from paycore.subscription.repository import TestClockRepository
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy.ext.asyncio import AsyncConnection

# Stripe: a first invoice not paid within 23 hours expires the incomplete subscription.
INCOMPLETE_EXPIRY_SECONDS = 23 * 3600
RENEWING = frozenset(
    {
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
    }
)


async def clock_now(connection: AsyncConnection, merchant_id: str, clock_id: str | None) -> int:
    """Unix seconds on the subscription's clock: a test clock's frozen_time, else real time."""
    if clock_id is None:
        return int(time.time())
    frozen_time = await TestClockRepository(connection).frozen_time(merchant_id, clock_id)
    if frozen_time is None:
        violated(f"test clock {clock_id} vanished")  # a clock's row stays when it is deleted
    return frozen_time


async def live_clock(connection: AsyncConnection, merchant_id: str, clock_id: str) -> TestClock:
    """The merchant's test clock, locked for this transaction: NOT_FOUND for a clock the
    merchant does not have (or deleted). Deleting a clock starts here."""
    clock = await TestClockRepository(connection).get(merchant_id, clock_id, lock=True)
    if clock is None:
        raise not_found("test_clock", clock_id)
    return clock


async def resting_clock(connection: AsyncConnection, merchant_id: str, clock_id: str) -> TestClock:
    """`live_clock` while the billing job is not moving it: FAILED_PRECONDITION
    (TEST_CLOCK_ADVANCING) while it advances. Advancing a clock starts here."""
    clock = await live_clock(connection, merchant_id, clock_id)
    if clock.status is TestClockStatus.ADVANCING:
        raise ApiError(Reason.TEST_CLOCK_ADVANCING, param="id", id=clock_id)
    return clock


async def caught_up(
    connection: AsyncConnection, subscription: Subscription, param: str = "id"
) -> None:
    """FAILED_PRECONDITION (TEST_CLOCK_ADVANCING) while the subscription's test clock advances
    and the billing job has not yet done what is due on it by the clock's time: a change made
    now would come before renewals, retries... still to happen at earlier times (a new price
    billed for the periods before it was asked for, an invoice item on a past renewal). The
    caller holds the subscription's row lock, which each of the job's steps takes too; `param`
    names the field that names the subscription."""
    if subscription.test_clock_id is None or subscription.next_action_at is None:
        return
    clock = await TestClockRepository(connection).get(
        subscription.merchant_id, subscription.test_clock_id
    )
    if (
        clock is not None
        and clock.status is TestClockStatus.ADVANCING
        and subscription.next_action_at <= clock.frozen_time
    ):
        raise ApiError(Reason.TEST_CLOCK_ADVANCING, param=param, id=clock.id)


async def next_action(connection: AsyncConnection, subscription: Subscription) -> int | None:
    """When the billing job next has work for it (clock time), None for never: a charge to
    settle (now), an incomplete expiry, the period end (renewal or cancel), a retry. An ended
    subscription has only a charge started before it ended to settle (its test clock deleted
    while advancing)."""
    due: list[int] = []
    open_invoices = await InvoiceRepository(connection).of_subscription(
        subscription.merchant_id, subscription.id, (InvoiceStatus.OPEN,)
    )
    for invoice in open_invoices:
        if invoice.charging:
            if not await charge_parked(connection, invoice):
                due.append(invoice.attempted_at or subscription.current_period.start)
        elif invoice.next_payment_attempt is not None and not subscription.status.ended:
            due.append(invoice.next_payment_attempt)
    if subscription.status.ended:
        return min(due) if due else None
    if subscription.status is SubscriptionStatus.INCOMPLETE:
        due.append(subscription.created + INCOMPLETE_EXPIRY_SECONDS)
    elif subscription.status in RENEWING:
        due.append(subscription.current_period.end)
    return min(due) if due else None


async def charge_parked(connection: AsyncConnection, invoice: Invoice) -> bool:
    """A charge in flight that waits for an operator (paycore.payment.off_session.parked): not
    due for billing, which goes on with the subscription's other work meanwhile."""
    if not invoice.charging or invoice.payment_intent_id is None:
        return False
    return await OffSessionCharges.parked(
        connection, invoice.merchant_id, invoice.payment_intent_id
    )


def uncollected(invoice: Invoice) -> Invoice:
    """An open invoice of an ended subscription: billing no longer collects it (no retry, no
    automatic advance), as Stripe stops a canceled subscription's automatic collection;
    PayInvoice still can."""
    return replace(invoice, next_payment_attempt=None, auto_advance=False)


async def save(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    before: Subscription | None,
    after: Subscription,
) -> Subscription:
    """Writes `after` with its next_action_at, and the event: created (no `before`), deleted
    (it has just ended: its open invoices `uncollected`) or updated (anything a caller sees
    changed)."""
    scheduled = replace(after, next_action_at=await next_action(connection, after))
    repository = SubscriptionRepository(connection)
    if before is None:
        await repository.insert(scheduled)
        kind = SUBSCRIPTION_CREATED
    else:
        await repository.save(scheduled)
        if scheduled.items != before.items:
            await repository.replace_items(scheduled)
        if scheduled.status.ended and not before.status.ended:
            kind = SUBSCRIPTION_DELETED
            invoices = InvoiceRepository(connection)
            for invoice in await invoices.of_subscription(
                scheduled.merchant_id, scheduled.id, (InvoiceStatus.OPEN,)
            ):
                await invoices.save(uncollected(invoice))
        elif events.subscription.render(scheduled) != events.subscription.render(before):
            kind = SUBSCRIPTION_UPDATED
        else:
            return scheduled
    # Stripe's previous_attributes on customer.subscription.updated: what changed, from what.
    previous = before if kind == SUBSCRIPTION_UPDATED else None
    await events.subscription.record(connection, kind, scheduled, before=previous)
    return scheduled
