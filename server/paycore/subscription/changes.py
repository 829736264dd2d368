"""UpdateSubscription and CancelSubscription: item changes with proration, the default payment
method (a new one retries a past-due invoice at once), cancel at period end or now (with an
optional prorated refund).

Proration (paycore.subscription.proration): an item whose amount changes at `now` within the
period [start, end) gets a credit line for the old amount's unused time and a charge line for
the new amount over the same time. CREATE_PRORATIONS leaves them pending for the next renewal
invoice; ALWAYS_INVOICE bills them now on a SUBSCRIPTION_UPDATE invoice; NONE adds none. No
proration while trialing (nothing was paid for the trial)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from paycore.errors import ApiError, Reason, invalid, missing, not_found
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.records import MetadataChange
from paycore.subscription import discounts, invoice_items, invoices, lifecycle
from paycore.subscription.collection import VOID_INVOICE, Collection
from paycore.subscription.creation import require_attached
from paycore.subscription.events import SubscriptionEvents
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.invoices import describe
from paycore.subscription.models import (
    TRIAL_DAYS_MAX,
    BillingReason,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NewPrice,
    Period,
    Price,
    ProrationBehavior,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from paycore.subscription.periods import SECONDS_PER_DAY
from paycore.subscription.proration import item_amount, prorate
from paycore.subscription.repository import PRICES
from paycore.subscription.service import add_price
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy.ext.asyncio import AsyncConnection

PRORATED = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})


@dataclass(frozen=True)
class ItemChange:
    item_id: str | None
    price_id: str | None
    quantity: int | None
    deleted: bool
    price_data: NewPrice | None = None
    """Stripe's price_data instead of a price id: the price is made inline (inactive) for the
    item."""
    metadata: MetadataChange | None = None
    """The item's metadata change (SubscriptionItem's routes); None leaves it."""
    prefix: str | None = None
    """What refusals put before a field's name: None for `items[<n>].` (UpdateSubscription's),
    "" for a SubscriptionItem route's own fields (`price`, `quantity`)."""

    def param(self, index: int, name: str) -> str:
        prefix = f"items[{index}]." if self.prefix is None else self.prefix
        return f"{prefix}{name}"


@dataclass(frozen=True)
class SubscriptionChanges:
    items: tuple[ItemChange, ...]
    proration: ProrationBehavior
    cancel_at_period_end: bool | None
    # "" clears it; None leaves it.
    default_payment_method_id: str | None
    metadata: MetadataChange
    coupon_id: str = ""
    """A coupon whose discount replaces the subscription's ("" keeps it)."""
    promotion_code_id: str = ""
    """A promotion code whose coupon's discount replaces it instead ("" keeps it)."""
    discount_prefix: str = ""
    """"discounts[0]." when given as Stripe's discounts[0][...] (refusals name that field)."""
    clear_discounts: bool = False
    """Stripe's `discounts=""`: the subscription's discount removed (never with the two above)."""
    trial_end: int | None = None
    """Stripe's trial_end: a trialing subscription's trial ends then instead (None leaves it)."""
    trial_end_now: bool = False
    """Stripe's trial_end=now: the trial ends now on the subscription's clock."""
    proration_date: int | None = None
    """Stripe's proration_date: the item changes prorated as though made then, within the
    current period (None: now)."""


async def locked(
    connection: AsyncConnection, merchant_id: str, subscription_id: str
) -> Subscription:
    """The subscription, locked; FAILED_PRECONDITION once it has ended."""
    subscription = await SubscriptionRepository(connection).get(
        merchant_id, subscription_id, lock=True
    )
    if subscription is None:
        raise not_found("subscription", subscription_id)
    if subscription.status.ended:
        raise ApiError(
            Reason.SUBSCRIPTION_ENDED,
            param="id",
            id=subscription.id,
            status=subscription.status.value,
        )
    return subscription


async def update(
    connection: AsyncConnection,
    collection: Collection,
    merchant_id: str,
    subscription_id: str,
    changes: SubscriptionChanges,
    *,
    at: int | None = None,
) -> Subscription:
    """`at`: when the change happens, within the current period (a preview's proration_date;
    None: now on the subscription's clock)."""
    subscription = await locked(connection, merchant_id, subscription_id)
    await lifecycle.caught_up(connection, subscription)
    now = (
        at
        if at is not None
        else await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
    )
    prorated_at = _proration_date(subscription, changes.proration_date, now)
    changed = replace(
        subscription,
        metadata=changes.metadata.applied_to(subscription.metadata),
    )
    changed = _trial_moved(changed, changes, now)
    amount = None
    if changes.promotion_code_id:  # its restrictions.minimum_amount: the items for a period
        current = invoices.period_lines(subscription, subscription.current_period)
        amount = sum(line.amount for line in current)
    changed = await discounts.take(
        connection,
        collection.events,
        changed,
        changes.coupon_id,
        changes.promotion_code_id,
        now,
        amount,
        changes.discount_prefix,
    )
    if changes.clear_discounts:
        changed = await discounts.remove(connection, collection.events, changed)
    if changes.default_payment_method_id is not None:
        if changes.default_payment_method_id:
            await require_attached(
                connection,
                merchant_id,
                changes.default_payment_method_id,
                subscription.customer_id,
                "default_payment_method",
            )
        changed = replace(
            changed, default_payment_method_id=changes.default_payment_method_id or None
        )
    if changes.cancel_at_period_end is not None:
        changed = replace(
            changed,
            cancel_at_period_end=changes.cancel_at_period_end,
            canceled_at=now if changes.cancel_at_period_end else None,
        )
    invoice = None
    if changes.items:
        changed = replace(
            changed,
            items=await _new_items(connection, changed, changes.items, now, collection.events),
        )
        unit = collection.rules.rule(subscription.currency).charge_multiple
        lines = _proration_lines(subscription, changed, prorated_at, unit)
        if changes.proration is ProrationBehavior.NONE or subscription.status not in PRORATED:
            lines = ()
        repository = InvoiceRepository(connection)
        renewal = invoices.period_lines(changed, subscription.current_period)
        next_total = sum(line.amount for line in renewal)
        if changes.proration is ProrationBehavior.CREATE_PRORATIONS:
            pending = await repository.pending_lines(merchant_id, subscription.id)
            next_total += sum(line.amount for line in pending + lines)
        # The next renewal, with what is pending for it, must stay collectable.
        invoices.check_collectable(subscription.currency, next_total)
        if changes.proration is ProrationBehavior.CREATE_PRORATIONS:
            await repository.add_lines(merchant_id, subscription.id, None, lines)
        elif lines:
            period = Period(prorated_at, subscription.current_period.end)
            invoice, changed = await invoices.create_invoice(
                connection,
                collection.events,
                changed,
                BillingReason.SUBSCRIPTION_UPDATE,
                period,
                lines,
                now,
            )
            invoice, changed = await invoices.finalize(
                connection, collection.events, collection.rules, changed, invoice, now
            )
    saved = await lifecycle.save(connection, collection.events, subscription, changed)
    if invoice is not None and invoice.status is InvoiceStatus.OPEN:
        # Charged once this call's transaction commits; a decline is dunned like a renewal.
        await collection.start(connection, saved, invoice, now, scheduled=True)
    elif changes.default_payment_method_id:
        await collection.retry_on_new_method(connection, saved, now)
    return await lifecycle.save(
        connection, collection.events, saved, saved
    )  # a charge to settle: due now


def _proration_date(subscription: Subscription, proration_date: int | None, now: int) -> int:
    """When the item changes are prorated: Stripe's `proration_date` when given (within the
    current period, else INVALID_ARGUMENT naming it), else now."""
    if proration_date is None:
        return now
    period = subscription.current_period
    if not period.start <= proration_date < period.end:
        raise invalid(
            "proration_date",
            f"must be within the current period [{period.start}, {period.end})",
        )
    return proration_date


def _trial_moved(
    subscription: Subscription, changes: SubscriptionChanges, now: int
) -> Subscription:
    """The subscription with its trial ending when `changes` say (Stripe's trial_end on an
    update; `trial_end_now` ends it at once): the trial period and the billing cycle's anchor
    move there, and the billing job bills the first period from it, as at a trial's planned end
    (the subscription is due then: lifecycle.next_action). Unchanged when they say nothing."""
    if not changes.trial_end_now and changes.trial_end is None:
        return subscription
    end = now if changes.trial_end_now else changes.trial_end
    if subscription.status is not SubscriptionStatus.TRIALING:
        raise invalid(
            "trial_end",
            "only a trialing subscription's trial can end at another moment; "
            f"this subscription is {subscription.status.value}",
        )
    if end is None or not now <= end <= now + TRIAL_DAYS_MAX * SECONDS_PER_DAY:
        raise invalid("trial_end", f"must be now or later and at most {TRIAL_DAYS_MAX} days on")
    # The trial's $0 invoice bills the period from its start, and a subscription has one
    # period invoice per period start (invoices_period_idx): a trial ended in the second it
    # began lasts that second, so that the first charged period starts after it.
    end = max(end, subscription.current_period.start + 1)
    return replace(
        subscription,
        trial_end=end,
        billing_cycle_anchor=end,
        current_period=Period(subscription.current_period.start, end),
    )


async def _new_items(
    connection: AsyncConnection,
    subscription: Subscription,
    changes: tuple[ItemChange, ...],
    now: int,
    events: SubscriptionEvents,
) -> tuple[SubscriptionItem, ...]:
    items = {item.id: item for item in subscription.items}
    shard = logical_shard_of(subscription.merchant_id, Prefix.ACCOUNT)
    for index, change in enumerate(changes):
        if change.price_data is not None and not change.deleted:
            param = change.param(index, "price_data")
            made = await add_price(
                connection, events, subscription.merchant_id, change.price_data, f"{param}.product"
            )
            change = replace(change, price_id=made.id)
        if change.item_id is not None:
            current = items.get(change.item_id)
            if current is None:
                raise not_found("subscription_item", change.item_id, change.param(index, "id"))
            if change.deleted:
                del items[current.id]
                continue
            price = current.price
            if change.price_id:
                price = await _price(connection, subscription, change, index)
            quantity = current.quantity if change.quantity is None else change.quantity
            metadata = current.metadata
            if change.metadata is not None:
                metadata = change.metadata.applied_to(metadata)
            items[current.id] = replace(current, price=price, quantity=quantity, metadata=metadata)
        else:
            if not change.price_id:
                raise missing(change.param(index, "price"))
            price = await _price(connection, subscription, change, index)
            new_item_id = new_id(Prefix.SUBSCRIPTION_ITEM, shard)
            items[new_item_id] = SubscriptionItem(
                id=new_item_id,
                subscription_id=subscription.id,
                price=price,
                quantity=change.quantity or 1,
                created=now,
                metadata={} if change.metadata is None else change.metadata.applied_to({}),
            )
    routed = any(change.prefix is not None for change in changes)  # a SubscriptionItem route
    prices = [item.price_id for item in items.values()]
    if len(set(prices)) != len(prices):
        raise invalid("price" if routed else "items", "each item must have a different price")
    if not items:
        raise invalid(
            "id" if routed else "items",
            "a subscription keeps at least one item (cancel it instead)",
        )
    return tuple(sorted(items.values(), key=lambda item: item.id))


async def _price(
    connection: AsyncConnection, subscription: Subscription, change: ItemChange, index: int
) -> Price:
    """A price an item may move to: recurring, active (or made for the item by its
    price_data), the subscription's currency and interval."""
    inline = change.price_data is not None
    param = change.param(index, "price_data" if inline else "price")
    price_id = change.price_id or ""
    price = await PRICES.require(connection, subscription.merchant_id, price_id, param)
    if price.recurring is None:
        raise invalid(param, "must be a recurring price (this one is one-time)")
    if not price.active and not inline:
        raise invalid(param, f"the price {price.id} is inactive")
    if price.currency != subscription.currency:
        raise ApiError(
            Reason.CURRENCY_MISMATCH,
            param=param,
            currency=price.currency,
            expected=subscription.currency,
        )
    if price.recurring != subscription.recurring:
        raise invalid(param, "must bill at the subscription's interval")
    return price


def _proration_lines(
    before: Subscription, after: Subscription, now: int, unit: int
) -> tuple[InvoiceLine, ...]:
    """Credit and charge lines, item by item, for what changed at `now`, in multiples of
    `unit` (the currency's charge multiple: every line an amount a charge can take)."""
    period = before.current_period
    if not period.start <= now < period.end:
        return ()
    old = {item.id: item for item in before.items}
    new = {item.id: item for item in after.items}
    remaining = Period(now, period.end)
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines: list[InvoiceLine] = []
    for item_id in sorted(old.keys() | new.keys()):
        was, becomes = old.get(item_id), new.get(item_id)
        was_amount = 0 if was is None else _amount(was)
        becomes_amount = 0 if becomes is None else _amount(becomes)
        if _billed(was) == _billed(becomes):  # unchanged, or its metadata alone
            continue
        proration = prorate(period, now, was_amount, becomes_amount, unit)
        if was is not None and proration.credit:
            line = _line(was.price, was, proration.credit, remaining)
            lines.append(replace(line, description=f"Unused time on {line.description} {when}"))
        if becomes is not None and proration.charge:
            line = _line(becomes.price, becomes, proration.charge, remaining)
            lines.append(replace(line, description=f"Remaining time on {line.description} {when}"))
    return tuple(lines)


def _billed(item: SubscriptionItem | None) -> tuple[str, int] | None:
    """What of an item a proration bills: its price and quantity (None: no item)."""
    return None if item is None else (item.price_id, item.quantity)


def _amount(item: SubscriptionItem) -> int:
    return item_amount(item.price.unit_amount, item.quantity)


def _line(price: Price, item: SubscriptionItem, amount: int, period: Period) -> InvoiceLine:
    description = f"{item.quantity} x {describe(price)} after"
    return invoices.item_line(item, price, amount, description, period, proration=True)


# --- cancel ----------------------------------------------------------------------------------


async def cancel(
    connection: AsyncConnection,
    collection: Collection,
    merchant_id: str,
    subscription_id: str,
    at_period_end: bool,
    prorate_refund: bool,
    invoice_now: bool = False,
) -> Subscription:
    """At period end: flagged, it ends when the period does (the billing job). Now: canceled
    at once; with `invoice_now` (Stripe's), what is pending for the next invoice (proration
    lines, one-off invoice items, an amount carried) is invoiced first, a last invoice
    finalized and charged (the charge runs after commit; a decline leaves it open, as an ended
    subscription is not dunned); with `prorate_refund`, the unused part of the current period
    is refunded on the period's paid intents (after commit), together with a credit the last
    invoice left."""
    subscription = await locked(connection, merchant_id, subscription_id)
    await lifecycle.caught_up(connection, subscription)
    now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
    if at_period_end:
        flagged = replace(subscription, cancel_at_period_end=True, canceled_at=now)
        return await lifecycle.save(connection, collection.events, subscription, flagged)
    unused: tuple[InvoiceLine, ...] = ()
    if prorate_refund:  # the credit for the current items' unused time
        unit = collection.rules.rule(subscription.currency).charge_multiple
        gone = replace(subscription, items=())
        unused = _proration_lines(subscription, gone, now, unit)
    last = None
    if invoice_now:
        # The last invoice nets the credit against what it bills (as Stripe's final invoice),
        # so the customer is not charged for time they are also refunded.
        on_invoice = unused if subscription.status in PRORATED else ()
        last, subscription = await _invoice_pending(
            connection, collection, subscription, now, on_invoice
        )
        if last is not None and on_invoice:
            unused = ()  # credited on the invoice: only the credit it leaves is refunded
    if prorate_refund:
        await _refund_unused(connection, collection, subscription, unused, now)
    ended = await _end_now(connection, collection, subscription, now)
    if last is not None and last.status is InvoiceStatus.OPEN:  # charged once, not dunned
        await collection.start(connection, ended, lifecycle.uncollected(last), now, scheduled=False)
    return ended


async def _invoice_pending(
    connection: AsyncConnection,
    collection: Collection,
    subscription: Subscription,
    now: int,
    credits: tuple[InvoiceLine, ...],
) -> tuple[Invoice | None, Subscription]:
    """invoice_now: the subscription's pending lines and items, and what it carries, with
    `credits` (the unused time, when refunded), on a finalized invoice (None when nothing is
    pending); the subscription as the invoice leaves it (saved: its credit, if the lines come
    to less than nothing, and its latest invoice)."""
    merchant_id = subscription.merchant_id
    pending = await InvoiceRepository(connection).pending_lines(merchant_id, subscription.id)
    items = await invoice_items.has_pending(connection, merchant_id, subscription.id)
    if not pending and not items and not subscription.credit_balance:
        return None, subscription
    period = Period(min(now, subscription.current_period.end), subscription.current_period.end)
    invoice, changed = await invoices.create_invoice(
        connection,
        collection.events,
        subscription,
        BillingReason.SUBSCRIPTION_UPDATE,
        period,
        credits,
        now,
    )
    invoice, changed = await invoices.finalize(
        connection, collection.events, collection.rules, changed, invoice, now
    )
    saved = await lifecycle.save(connection, collection.events, subscription, changed)
    return invoice, saved


async def end_subscriptions(
    collection: Collection,
    connection: AsyncConnection,
    merchant_id: str,
    *,
    customer_id: str = "",
    clock_id: str = "",
) -> None:
    """Each subscription of the customer (DeleteCustomer's), or on the clock (DeleteTestClock's),
    that has not ended is canceled now, as `cancel` does without a refund (Stripe's deletions),
    oldest first."""
    found = await SubscriptionRepository(connection).not_ended(
        merchant_id, customer_id=customer_id, clock_id=clock_id
    )
    for subscription_id in found:
        subscription = await locked(connection, merchant_id, subscription_id)
        now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
        await _end_now(connection, collection, subscription, now)


async def _end_now(
    connection: AsyncConnection, collection: Collection, subscription: Subscription, now: int
) -> Subscription:
    # Ended now: no period end is left to cancel at (Stripe reads it false after this too).
    ended = replace(
        subscription,
        status=SubscriptionStatus.CANCELED,
        cancel_at_period_end=False,
        canceled_at=now,
        ended_at=now,
    )
    repository = InvoiceRepository(connection)
    await repository.drop_pending(subscription.merchant_id, subscription.id)
    # An intent left for the customer (default_incomplete) can no longer pay: a canceled
    # subscription takes no first payment. One confirmed already pays its invoice (billing).
    for invoice in await repository.of_subscription(
        subscription.merchant_id, subscription.id, (InvoiceStatus.OPEN,)
    ):
        await collection.withdraw_from_customer(
            connection, invoice, VOID_INVOICE, every_attempt=False
        )
    return await lifecycle.save(connection, collection.events, subscription, ended)


async def _refund_unused(
    connection: AsyncConnection,
    collection: Collection,
    subscription: Subscription,
    unused: tuple[InvoiceLine, ...],
    now: int,
) -> None:
    """Gives back what the customer paid for time they will not get: the `unused` time's credit
    lines (none when a last invoice took them) with what the subscription still owed them
    (pending proration lines and carried credit; minus what they owed), discounted as an
    invoice made now would discount them (a 50% coupon halves the credit, as it halved the
    payment), refunded from the period's paid intents, newest first, each capped at what it
    has left to refund. A disputed intent is not refunded: its chargeback gave the customer
    back what it had left (OffSessionCharges.record_refund)."""
    period = subscription.current_period
    if not period.start <= now < period.end:
        return
    pending = await InvoiceRepository(connection).pending_lines(
        subscription.merchant_id, subscription.id
    )
    discount = await discounts.of_invoice(connection, collection.events, subscription, now)
    lines, taken = discounts.apply(discount, unused + pending)
    owed = taken - sum(line.amount for line in lines) - subscription.credit_balance
    charges = collection.charges
    for intent_id in await period_intents(connection, subscription):
        if owed <= 0:
            return
        owed -= await charges.record_refund(connection, subscription.merchant_id, intent_id, owed)


async def period_intents(connection: AsyncConnection, subscription: Subscription) -> list[str]:
    """The payment intents of the current period's paid invoices (its renewal and any
    always_invoice changes), newest first."""
    period = subscription.current_period
    paid = await InvoiceRepository(connection).of_subscription(
        subscription.merchant_id, subscription.id, (InvoiceStatus.PAID,)
    )
    return [
        invoice.payment_intent_id
        for invoice in sorted(paid, key=lambda invoice: (invoice.created, invoice.id), reverse=True)
        if invoice.payment_intent_id and period.start <= invoice.period.start < period.end
    ]
