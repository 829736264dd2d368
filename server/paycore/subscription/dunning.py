"""Failed payments: what a failed attempt on an open invoice leads to.

- the first invoice of an incomplete subscription: nothing is retried; the customer has
  23 hours to pay it (PayInvoice) before the subscription expires (paycore.subscription.
  billing);
- a scheduled attempt (the renewal's first, or a retry) with retries left: the subscription
  is past_due and the next retry is `retry_schedule_days[n]` days after this attempt;
- the last retry failed: the merchant's final action, cancel (subscription canceled now,
  invoice uncollectible) or mark_unpaid (subscription unpaid, invoice left open);
- an attempt that was asked for (PayInvoice, a new payment method) changes no schedule.
"""

from __future__ import annotations

from dataclasses import replace

from paycore.subscription import invoices, lifecycle
from paycore.subscription.events import SubscriptionEvents
from paycore.subscription.models import (
    FinalAction,
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
)
from paycore.subscription.periods import SECONDS_PER_DAY
from paycore.subscription.store import BillingSettingsRepository
from sqlalchemy.ext.asyncio import AsyncConnection


async def failed(
    connection: AsyncConnection,
    events: SubscriptionEvents,
    subscription: Subscription,
    invoice: Invoice,
    *,
    scheduled: bool,
) -> Subscription:
    """Applies a failed attempt (the invoice as of that attempt is saved already)."""
    if subscription.status in (SubscriptionStatus.INCOMPLETE,) or subscription.status.ended:
        return subscription
    if not scheduled:
        return subscription
    at = invoice.attempted_at or 0
    settings = await BillingSettingsRepository(connection).get(subscription.merchant_id)
    schedule = settings.retry_schedule_days
    if invoice.retry_count < len(schedule):
        retry_at = at + schedule[invoice.retry_count] * SECONDS_PER_DAY
        await invoices.save(connection, events, replace(invoice, next_payment_attempt=retry_at))
        status = (
            subscription.status
            if subscription.status is SubscriptionStatus.UNPAID
            else SubscriptionStatus.PAST_DUE
        )
        return await lifecycle.save(
            connection, events, subscription, replace(subscription, status=status)
        )
    if settings.final_action is FinalAction.MARK_UNPAID:
        await invoices.save(connection, events, replace(invoice, next_payment_attempt=None))
        return await lifecycle.save(
            connection,
            events,
            subscription,
            replace(subscription, status=SubscriptionStatus.UNPAID),
        )
    await invoices.close(connection, events, invoice, InvoiceStatus.UNCOLLECTIBLE, at)
    return await lifecycle.save(
        connection,
        events,
        subscription,
        replace(
            subscription,
            status=SubscriptionStatus.CANCELED,
            cancel_at_period_end=False,  # it ends now, not at its period end (as a cancel now)
            canceled_at=subscription.canceled_at or at,
            ended_at=at,
        ),
    )
