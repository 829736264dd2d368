"""The billing clock: the `subscription_billing` job bills what is due on one shard.

A run claims due subscriptions (next_action_at at or before their clock's now) with
FOR UPDATE SKIP LOCKED and marks them claimed for a lease, so concurrent runs take disjoint
ones; then it walks each through its due actions in order of due time, one short transaction
per action: settle a charge in flight, expire an incomplete subscription, retry an invoice,
cancel at period end, or renew. A renewal moves the period and creates the period's invoice in
one transaction (unique per subscription and period start), so it happens once however many
runs see it; its charge runs after that transaction commits. Then one-off drafts with
auto_advance that have come due are finalized and charged (paycore.subscription.one_off.advance,
each locked in its transaction, so once however many runs see it). Last, test clocks that are
advancing become ready once nothing on them is due."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from paycore.errors import ApiError
from paycore.invariants import violated
from paycore.payment.models import IntentStatus
from paycore.storage.schema import (
    customers,
    invoices,
    payment_intents,
    subscriptions,
    test_clocks,
)
from paycore.subscription import invoices as invoicing
from paycore.subscription import lifecycle, one_off
from paycore.subscription.collection import (
    ATTEMPT_KEY,
    BY_CUSTOMER,
    CONFIRMED,
    DUNNED,
    VOID_INVOICE,
    Collection,
    after_payment,
    expire_incomplete,
)
from paycore.subscription.events import TEST_CLOCK_READY, SubscriptionEvents
from paycore.subscription.invoice_store import InvoiceRepository, duplicate_payment
from paycore.subscription.models import (
    BillingReason,
    Invoice,
    InvoiceStatus,
    Period,
    Subscription,
    SubscriptionStatus,
    TestClockStatus,
)
from paycore.subscription.periods import next_boundary
from paycore.subscription.repository import decode_test_clock
from paycore.subscription.store import SubscriptionRepository
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
BATCH_MAX = 50
# Actions one run takes for one subscription before it moves on (a clock advanced by years
# bills the rest in the next runs).
STEPS_MAX = 40
CLAIM_SECONDS = 60


@dataclass(frozen=True)
class _Step:
    """What one action left to do: settle this invoice's charge, go on, or stop."""

    settle: str | None = None
    more: bool = False
    refunds: tuple[str, ...] = ()
    """Intents whose duplicate payment was refunded in the step: their refunds to run."""


DONE = _Step()
AGAIN = _Step(more=True)


class Billing:
    def __init__(self, collection: Collection) -> None:
        self._collection = collection
        self._events = collection.events

    async def run(self, engine: AsyncEngine, limit: int = BATCH_MAX) -> int:
        done = 0
        for merchant_id, subscription_id in await self._claim(engine, limit):
            try:
                done += await self._advance(engine, merchant_id, subscription_id)
            except Exception:  # one subscription's failure must not stop the others' billing
                log.exception("billing %s failed; it is retried on a later run", subscription_id)
        done += await self._settle_one_off(engine, limit)
        done += await self._advance_one_off(engine, limit)
        return done + await self._ready_clocks(engine)

    async def _settle_one_off(self, engine: AsyncEngine, limit: int) -> int:
        """One-off invoices (no subscription to claim) whose charge was answered while nobody
        was settling it (PayInvoice's call gave up waiting for the PSP): the outcome applied.
        Settling twice is harmless (paycore.subscription.collection.Collection.settle)."""
        i, pi = invoices, payment_intents
        answered = (
            select(i.c.merchant_id, i.c.id)
            .select_from(
                i.join(
                    pi, and_(pi.c.merchant_id == i.c.merchant_id, pi.c.id == i.c.payment_intent_id)
                )
            )
            .where(
                i.c.subscription_id.is_(None),
                i.c.charging.is_(True),
                pi.c.status != IntentStatus.PROCESSING.value,
            )
            .limit(limit)
        )
        async with engine.connect() as connection:
            found = [(row.merchant_id, row.id) for row in await connection.execute(answered)]
        settled = 0
        for merchant_id, invoice_id in found:
            try:
                settled += await self._collection.settle(engine, merchant_id, invoice_id)
            except Exception:  # one invoice's failure must not stop the others'
                log.exception("settling %s failed; it is retried on a later run", invoice_id)
        return settled

    async def _advance_one_off(self, engine: AsyncEngine, limit: int) -> int:
        """One-off drafts with auto_advance made an hour ago or more (on their clock):
        finalized and charged, the charge settled here (a PSP that has not answered: by
        _settle_one_off on a later run). One that cannot be finalized stops advancing."""
        i, c = invoices, test_clocks
        due = (
            select(i.c.merchant_id, i.c.id)
            .select_from(
                i.outerjoin(
                    c, and_(c.c.merchant_id == i.c.merchant_id, c.c.id == i.c.test_clock_id)
                )
            )
            .where(
                _auto_advancing(),
                i.c.created + one_off.AUTO_ADVANCE_SECONDS <= _clock_now(),
            )
            .order_by(i.c.created)
            .limit(limit)
        )
        async with engine.connect() as connection:
            found = [(row.merchant_id, row.id) for row in await connection.execute(due)]
        advanced = 0
        for merchant_id, invoice_id in found:
            try:
                async with engine.begin() as connection:
                    started = await one_off.advance(
                        connection, self._events, self._collection, merchant_id, invoice_id
                    )
            except ApiError as refused:
                log.warning(
                    "invoice %s cannot be finalized (%s): it stops advancing", invoice_id, refused
                )
                async with engine.begin() as connection:
                    await one_off.stop_advancing(connection, self._events, merchant_id, invoice_id)
                continue
            except Exception:  # one invoice's failure must not stop the others'
                log.exception("advancing %s failed; it is retried on a later run", invoice_id)
                continue
            if started is None:
                continue
            advanced += 1
            if started.charging:
                await self._collection.settle(engine, merchant_id, invoice_id)
        return advanced

    async def _claim(self, engine: AsyncEngine, limit: int) -> list[tuple[str, str]]:
        """Due subscriptions (by the due index), then dunned ones with a new card to try, then
        those whose charge was answered while nobody was settling it (a requeued one)."""
        s, c = subscriptions, test_clocks
        free = or_(s.c.claimed_until.is_(None), s.c.claimed_until < func.now())
        due = (
            select(s.c.merchant_id, s.c.id)
            .select_from(
                s.outerjoin(
                    c, and_(c.c.merchant_id == s.c.merchant_id, c.c.id == s.c.test_clock_id)
                )
            )
            .where(
                s.c.next_action_at.is_not(None),
                s.c.next_action_at <= _clock_now(),
                free,
                ~_retry_awaiting_customer(),
            )
            .order_by(s.c.next_action_at)
            .limit(limit)
            .with_for_update(of=s, skip_locked=True)
        )
        async with engine.begin() as connection:
            claimed = [(row.merchant_id, row.id) for row in await connection.execute(due)]
            for wanted in (
                _new_payment_method(),
                _charge_answered(),
                _paid_by_customer(),
                _declined_by_customer(),
                _action_required_by_customer(),
                _duplicate_paid(),
            ):
                if len(claimed) >= limit:
                    break
                more = (
                    select(s.c.merchant_id, s.c.id)
                    .where(wanted, free)
                    .limit(limit - len(claimed))
                    .with_for_update(skip_locked=True)
                )
                claimed += [
                    (row.merchant_id, row.id)
                    for row in await connection.execute(more)
                    if (row.merchant_id, row.id) not in claimed
                ]
            for merchant_id, subscription_id in claimed:
                await _set_claim(connection, merchant_id, subscription_id, CLAIM_SECONDS)
        return claimed

    async def _advance(self, engine: AsyncEngine, merchant_id: str, subscription_id: str) -> int:
        steps = 0
        try:
            while steps < STEPS_MAX:
                async with engine.begin() as connection:
                    step = await self.step(connection, merchant_id, subscription_id)
                steps += step.more or step.settle is not None
                for intent_id in step.refunds:
                    await self._collection.charges.run_refunds(merchant_id, intent_id)
                if step.settle is not None:
                    if not await self._collection.settle(engine, merchant_id, step.settle):
                        break  # the PSP has not answered: a later run settles it
                elif not step.more:
                    break
        finally:
            async with engine.begin() as connection:
                await _set_claim(connection, merchant_id, subscription_id, None)
        return steps

    async def step(
        self, connection: AsyncConnection, merchant_id: str, subscription_id: str
    ) -> _Step:
        """The subscription's earliest due action, in the caller's transaction."""
        subscription = await SubscriptionRepository(connection).get(
            merchant_id, subscription_id, lock=True
        )
        if subscription is None:
            return DONE
        now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
        open_invoices = await InvoiceRepository(connection).of_subscription(
            merchant_id, subscription_id, (InvoiceStatus.OPEN,)
        )
        paying = await self._payment_in(connection, subscription, open_invoices, now)
        if paying is not None:
            # Also for an ended subscription: a payment the customer made still pays its
            # invoice, and a charge started before it ended (its test clock deleted while
            # advancing) still settles, so no invoice stays `charging` (the subscription stays
            # ended: collection.after_payment, dunning.failed).
            return paying
        if subscription.status.ended:
            # Nothing left to settle: due never again (a declined charge left it due).
            await lifecycle.save(connection, self._events, subscription, subscription)
            return DONE
        retried = await self._collection.retry_on_new_method(connection, subscription, now)
        if retried is not None:
            await _reschedule(connection, self._events, subscription)
            return _Step(settle=retried.id) if retried.charging else AGAIN
        due: list[tuple[int, int, Invoice | None]] = []
        if subscription.status is SubscriptionStatus.INCOMPLETE:
            due.append((subscription.created + lifecycle.INCOMPLETE_EXPIRY_SECONDS, 0, None))
        elif subscription.status in lifecycle.RENEWING:
            due.append((subscription.current_period.end, 1, None))
        for invoice in open_invoices:
            if invoice.next_payment_attempt is not None:
                due.append((invoice.next_payment_attempt, 2, invoice))
        if not due or min(due, key=_order)[0] > now:
            await lifecycle.save(connection, self._events, subscription, subscription)  # reschedule
            return DONE
        at, kind, due_invoice = min(due, key=_order)
        if due_invoice is not None:
            return await self._retry(connection, subscription, due_invoice, at)
        if kind == 0:
            await self._expire(connection, subscription, open_invoices, at)
            return DONE
        if subscription.cancel_at_period_end:
            ended = replace(subscription, status=SubscriptionStatus.CANCELED, ended_at=at)
            await lifecycle.save(connection, self._events, subscription, ended)
            return DONE
        return await self._renew(connection, subscription, at)

    async def _payment_in(
        self,
        connection: AsyncConnection,
        subscription: Subscription,
        open_invoices: list[Invoice],
        now: int,
    ) -> _Step | None:
        """First, payments that have happened or are under way: an invoice the customer paid
        (its intent confirmed and succeeded) is marked paid; a charge in flight is settled.
        Before them, a second payment of an invoice is refunded (refund_duplicates)."""
        refunded = await self._collection.refund_duplicates(connection, subscription)
        if refunded:
            return _Step(more=True, refunds=tuple(refunded))
        if await self._collection.paid_by_customer(connection, subscription, open_invoices, now):
            return AGAIN
        if await self._collection.declined_by_customer(connection, open_invoices, now):
            return AGAIN
        if await self._collection.action_required_by_customer(connection, open_invoices, now):
            return AGAIN
        for invoice in open_invoices:
            if invoice.charging and not await lifecycle.charge_parked(connection, invoice):
                return _Step(settle=invoice.id)
        return None

    async def _expire(
        self,
        connection: AsyncConnection,
        subscription: Subscription,
        open_invoices: list[Invoice],
        at: int,
    ) -> None:
        """An incomplete subscription whose first invoice went unpaid for 23 hours: the
        invoice void, its intent left for the customer canceled. Unless the customer has just
        confirmed that intent: its outcome decides (a later pass pays or expires it)."""
        for invoice in open_invoices:
            if not await self._collection.withdraw_from_customer(connection, invoice, VOID_INVOICE):
                return
        await expire_incomplete(connection, self._events, subscription, open_invoices, at)

    async def _retry(
        self, connection: AsyncConnection, subscription: Subscription, invoice: Invoice, at: int
    ) -> _Step:
        if await self._collection.customer_paying(connection, invoice):
            # The customer's confirmation of the invoice's intent is in flight: it alone may
            # pay the invoice; the retry waits (still due) until it is answered.
            return DONE
        retrying = replace(invoice, next_payment_attempt=None)
        started = await self._collection.start(
            connection, subscription, retrying, at, scheduled=True
        )
        await _reschedule(connection, self._events, subscription)
        return _Step(settle=started.id) if started.charging else AGAIN

    async def _renew(
        self, connection: AsyncConnection, subscription: Subscription, at: int
    ) -> _Step:
        """The next period begins at `at` (the current period's end): its invoice, and its
        charge once this transaction commits. An unpaid subscription's renewals stay drafts
        (not collected), as Stripe does."""
        end = next_boundary(subscription.billing_cycle_anchor, subscription.recurring, at)
        period = Period(at, end)
        renewed = replace(subscription, current_period=period)
        repository = InvoiceRepository(connection)
        if await repository.for_period(subscription.merchant_id, subscription.id, at) is not None:
            await lifecycle.save(connection, self._events, subscription, renewed)  # billed already
            return AGAIN
        lines = invoicing.period_lines(renewed, period)
        invoice, renewed = await invoicing.create_invoice(
            connection, self._events, renewed, BillingReason.SUBSCRIPTION_CYCLE, period, lines, at
        )
        if subscription.status is SubscriptionStatus.UNPAID:
            await lifecycle.save(connection, self._events, subscription, renewed)
            return AGAIN
        invoice, renewed = await invoicing.finalize(
            connection, self._events, self._collection.rules, renewed, invoice, at
        )
        if invoice.status is InvoiceStatus.PAID:
            renewed = await after_payment(connection, renewed)
        saved = await lifecycle.save(connection, self._events, subscription, renewed)
        if invoice.status is not InvoiceStatus.OPEN:
            return AGAIN
        started = await self._collection.start(connection, saved, invoice, at, scheduled=True)
        await _reschedule(connection, self._events, saved)
        return _Step(settle=started.id) if started.charging else AGAIN

    async def _ready_clocks(self, engine: AsyncEngine) -> int:
        """Advancing clocks with nothing left due on them become ready, each with its
        test_helpers.test_clock.ready event in the same transaction."""
        c, s, i = test_clocks, subscriptions, invoices
        clock_now = func.floor(func.extract("epoch", c.c.frozen_time))
        pending = exists().where(
            s.c.merchant_id == c.c.merchant_id,
            s.c.test_clock_id == c.c.id,
            s.c.next_action_at.is_not(None),
            s.c.next_action_at <= clock_now,
        )
        drafts_due = exists().where(
            i.c.merchant_id == c.c.merchant_id,
            i.c.test_clock_id == c.c.id,
            _auto_advancing(),
            i.c.created + one_off.AUTO_ADVANCE_SECONDS <= clock_now,
        )
        async with engine.begin() as connection:
            rows = await connection.execute(
                update(c)
                .where(
                    c.c.id.in_(
                        select(c.c.id)
                        .where(
                            c.c.status == TestClockStatus.ADVANCING.value,
                            c.c.deleted_at.is_(None),  # deleted while advancing: it stopped
                            ~pending,
                            ~drafts_due,
                        )
                        .with_for_update(skip_locked=True)
                    )
                )
                .values(status=TestClockStatus.READY.value)
                .returning(c)
            )
            ready = [decode_test_clock(row) for row in rows.all()]
            await self._events.test_clock.record_each(connection, TEST_CLOCK_READY, ready)
            return len(ready)


def _clock_now() -> ColumnElement[int]:
    """Now on the joined test clock (test_clocks), else now: unix seconds."""
    c = test_clocks
    return func.coalesce(
        func.floor(func.extract("epoch", c.c.frozen_time)),
        func.floor(func.extract("epoch", func.now())),
    )


def _auto_advancing() -> ColumnElement[bool]:
    """A one-off draft that billing finalizes by itself (invoices_auto_advance_idx)."""
    i = invoices
    return and_(
        i.c.status == InvoiceStatus.DRAFT.value,
        i.c.auto_advance.is_(True),
        i.c.subscription_id.is_(None),
    )


def _new_payment_method() -> ColumnElement[bool]:
    """A dunned subscription whose open invoice was last tried with a payment method other
    than the one it would now charge (its own default, else its customer's)."""
    s, i, pi, cu = subscriptions, invoices, payment_intents, customers
    method = func.coalesce(
        s.c.default_payment_method_id,
        select(cu.c.default_payment_method_id)
        .where(cu.c.merchant_id == s.c.merchant_id, cu.c.id == s.c.customer_id)
        .correlate(s)
        .scalar_subquery(),
    )
    return and_(
        s.c.status.in_([status.value for status in DUNNED]),
        _an_invoice_whose_intent(
            i.c.status == InvoiceStatus.OPEN.value,
            i.c.charging.is_(False),
            pi.c.payment_method_id.is_distinct_from(method),
            # the customer's to complete, or theirs in flight
            pi.c.status.not_in([IntentStatus.REQUIRES_ACTION.value, IntentStatus.PROCESSING.value]),
            method.is_not(None),
        ),
    )


def _retry_awaiting_customer() -> ColumnElement[bool]:
    """A subscription whose next action is the retry of an open invoice whose intent the
    customer has confirmed (their payment in flight: `_retry` would not start one,
    collection.customer_paying): not due until that payment is answered (succeeded:
    `_paid_by_customer` claims it; declined: the retry is due again), so it does not take a
    place in every pass's batch meanwhile. A period end due at the same moment (renewed before
    retries) keeps it due."""
    s, i = subscriptions, invoices
    renewing = [status.value for status in lifecycle.RENEWING]
    return _an_invoice_whose_intent(
        i.c.status == InvoiceStatus.OPEN.value,
        i.c.charging.is_(False),
        i.c.next_payment_attempt == s.c.next_action_at,
        payment_intents.c.status.in_(sorted(status.value for status in CONFIRMED)),
        or_(s.c.status.not_in(renewing), s.c.current_period_end > s.c.next_action_at),
    )


def _charge_answered() -> ColumnElement[bool]:
    """A subscription with an invoice still `charging` whose intent is no longer processing:
    its outcome is known (say a dead-lettered charge an operator requeued) and awaits settling."""
    return _an_invoice_whose_intent(
        invoices.c.charging.is_(True),
        payment_intents.c.status != IntentStatus.PROCESSING.value,
    )


def _paid_by_customer() -> ColumnElement[bool]:
    """A subscription with an open invoice, not charging, whose intent has succeeded: one
    the customer confirmed (default_incomplete), which awaits marking the invoice paid."""
    i = invoices
    return _an_invoice_whose_intent(
        i.c.status == InvoiceStatus.OPEN.value,
        i.c.charging.is_(False),
        payment_intents.c.status == IntentStatus.SUCCEEDED.value,
    )


def _declined_by_customer() -> ColumnElement[bool]:
    """A subscription with an open invoice, not charging, no failure of the customer's reported
    yet, whose intent left to the customer wants another payment method after an error: their
    confirmation declined, or their authentication failed (default_incomplete)."""
    i, pi = invoices, payment_intents
    return _an_invoice_whose_intent(
        i.c.status == InvoiceStatus.OPEN.value,
        i.c.charging.is_(False),
        i.c.failure_reported.is_(False),
        pi.c.metadata[ATTEMPT_KEY].astext == BY_CUSTOMER,
        pi.c.status == IntentStatus.REQUIRES_PAYMENT_METHOD.value,
        func.jsonb_typeof(pi.c.last_error) == "object",
    )


def _action_required_by_customer() -> ColumnElement[bool]:
    """A subscription with an open invoice, not charging, no attempt counted yet, whose intent
    waits for the customer's authentication (default_incomplete, 3-D Secure): the merchant
    is to hear invoice.payment_action_required."""
    i, pi = invoices, payment_intents
    return _an_invoice_whose_intent(
        i.c.status == InvoiceStatus.OPEN.value,
        i.c.charging.is_(False),
        i.c.attempt_count == 0,
        pi.c.status == IntentStatus.REQUIRES_ACTION.value,
    )


def _duplicate_paid() -> ColumnElement[bool]:
    """A subscription with an invoice paid twice: a second succeeded intent naming it, to
    refund (invoice_store.duplicate_payment)."""
    s, i, pi = subscriptions, invoices, payment_intents
    return exists().where(
        i.c.merchant_id == s.c.merchant_id,
        i.c.subscription_id == s.c.id,
        pi.c.merchant_id == i.c.merchant_id,
        pi.c.invoice_id == i.c.id,
        duplicate_payment(),
    )


def _an_invoice_whose_intent(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS an invoice of the subscription, with its payment intent, meeting `conditions`
    (on the invoices' and payment_intents' columns)."""
    s, i, pi = subscriptions, invoices, payment_intents
    return exists().where(
        i.c.merchant_id == s.c.merchant_id,
        i.c.subscription_id == s.c.id,
        pi.c.merchant_id == i.c.merchant_id,
        pi.c.id == i.c.payment_intent_id,
        *conditions,
    )


def _order(entry: tuple[int, int, Invoice | None]) -> tuple[int, int]:
    """Earliest first; at one instant an expiry, then the period end, then retries."""
    return entry[0], entry[1]


async def _reschedule(
    connection: AsyncConnection, events: SubscriptionEvents, subscription_after: Subscription
) -> None:
    current = await SubscriptionRepository(connection).get(
        subscription_after.merchant_id, subscription_after.id
    )
    if current is None:
        violated(f"subscription {subscription_after.id} vanished")
    await lifecycle.save(connection, events, current, current)


async def _set_claim(
    connection: AsyncConnection, merchant_id: str, subscription_id: str, seconds: int | None
) -> None:
    await SubscriptionRepository(connection).hold(merchant_id, subscription_id, seconds)
