"""Subscriptions and invoices as the servicer calls them: reads, and the mutating calls run
through Mutations (phased wherever a charge may follow: the first phase records, the second
settles the charge outside any transaction)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from paycore.account.models import Page
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.invariants import violated
from paycore.runtime.mutations import Change, Complete, FinalAnswer, Mutations
from paycore.storage import Shards
from paycore.subscription import changes as changes_module
from paycore.subscription import invoice_items, invoices, lifecycle
from paycore.subscription.changes import SubscriptionChanges
from paycore.subscription.collection import Collection, after_payment
from paycore.subscription.creation import require_attached, start_subscription
from paycore.subscription.invoice_store import InvoiceRepository
from paycore.subscription.messages import (
    clock_message,
    invoice_message,
    settings_message,
    subscription_message,
)
from paycore.subscription.models import (
    FinalAction,
    Invoice,
    InvoiceStatus,
    NewSubscription,
    Subscription,
    SubscriptionStatus,
    TestClockStatus,
)
from paycore.subscription.periods import SECONDS_PER_DAY
from paycore.subscription.repository import TestClockRepository
from paycore.subscription.store import BillingSettingsRepository, SubscriptionRepository
from paycore.v1 import subscription_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

# AdvanceTestClock moves a clock at most this far in one call (Stripe: two intervals of the
# longest price; here two years).
ADVANCE_MAX_SECONDS = 2 * 366 * SECONDS_PER_DAY
# How long a call's second phase waits for a charge another runner is completing.
SETTLE_WAIT = 2.0
PAYABLE = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE})


class Subscriptions:
    def __init__(
        self, shards: Shards, mutations: Mutations, collection: Collection, lease: timedelta
    ) -> None:
        self._shards = shards
        self._mutations = mutations
        self.collection = collection
        self._lease = lease

    # --- subscriptions -----------------------------------------------------------------------

    async def create(
        self,
        merchant_id: str,
        request: subscription_pb2.CreateSubscriptionRequest,
        new: NewSubscription,
    ) -> subscription_pb2.Subscription:
        async def record(connection: AsyncConnection) -> subscription_pb2.Subscription:
            created = await start_subscription(connection, self.collection, merchant_id, new)
            await self._hold(connection, merchant_id, created.id)
            return subscription_message(created)

        return await self.phased(merchant_id, request, record, self.settled(merchant_id))

    async def update(
        self,
        merchant_id: str,
        request: subscription_pb2.UpdateSubscriptionRequest,
        changes: SubscriptionChanges,
    ) -> subscription_pb2.Subscription:
        async def record(connection: AsyncConnection) -> subscription_pb2.Subscription:
            updated = await changes_module.update(
                connection, self.collection, merchant_id, request.id, changes
            )
            await self._hold(connection, merchant_id, updated.id)
            return subscription_message(updated)

        return await self.phased(merchant_id, request, record, self.settled(merchant_id))

    async def cancel(
        self, merchant_id: str, request: subscription_pb2.CancelSubscriptionRequest
    ) -> subscription_pb2.Subscription:
        charges = self.collection.charges

        async def record(connection: AsyncConnection) -> subscription_pb2.Subscription:
            canceled = await changes_module.cancel(
                connection,
                charges,
                merchant_id,
                request.id,
                request.at_period_end,
                request.prorate,
            )
            return subscription_message(canceled)

        async def complete(
            subscription_id: str, final: FinalAnswer[subscription_pb2.Subscription]
        ) -> subscription_pb2.Subscription:
            """Runs the prorated refunds, if any, on the period's paid intents."""
            if request.prorate:
                canceled = await self.get(merchant_id, subscription_id)
                async with self._shards.read(merchant_id) as connection:
                    intents = await changes_module.period_intents(connection, canceled)
                for intent_id in intents:
                    await charges.run_refunds(merchant_id, intent_id)
            return subscription_message(await self.get(merchant_id, subscription_id))

        return await self.phased(merchant_id, request, record, complete)

    async def get(self, merchant_id: str, subscription_id: str) -> Subscription:
        async with self._shards.read(merchant_id) as connection:
            found = await SubscriptionRepository(connection).get(merchant_id, subscription_id)
        if found is None:
            raise not_found("subscription", subscription_id)
        return found

    async def list(
        self,
        merchant_id: str,
        limit: int,
        starting_after: str,
        customer_id: str,
        price_id: str,
        status: SubscriptionStatus | None,
    ) -> Page[Subscription]:
        async with self._shards.read(merchant_id) as connection:
            return await SubscriptionRepository(connection).list(
                merchant_id, limit, starting_after, customer_id, price_id, status
            )

    def settled(self, merchant_id: str) -> Complete[subscription_pb2.Subscription]:
        """The second phase of a subscription call: settles the charges it started."""

        async def complete(
            subscription_id: str, final: FinalAnswer[subscription_pb2.Subscription]
        ) -> subscription_pb2.Subscription:
            await self.settle_charging(merchant_id, subscription_id)
            return subscription_message(await self.get(merchant_id, subscription_id))

        return complete

    async def settle_charging(self, merchant_id: str, subscription_id: str) -> None:
        async with self._shards.read(merchant_id) as connection:
            charging = [
                invoice.id
                for invoice in await InvoiceRepository(connection).of_subscription(
                    merchant_id, subscription_id, (InvoiceStatus.OPEN,)
                )
                if invoice.charging
            ]
        engine = self._shards.engine_for_merchant(merchant_id)
        for invoice_id in charging:
            await self.collection.settle_within(engine, merchant_id, invoice_id, SETTLE_WAIT)
        await self._release(merchant_id, subscription_id)

    async def _hold(
        self, connection: AsyncConnection, merchant_id: str, subscription_id: str
    ) -> None:
        """Keeps billing runs off the subscription while this call settles its charge (until
        the lease runs out, should the call die before)."""
        await SubscriptionRepository(connection).hold(
            merchant_id, subscription_id, self._lease.total_seconds()
        )

    async def _release(self, merchant_id: str, subscription_id: str) -> None:
        async with self._shards.transaction(merchant_id) as connection:
            await SubscriptionRepository(connection).hold(merchant_id, subscription_id, None)

    async def phased(
        self,
        merchant_id: str,
        request: subscription_pb2.CreateSubscriptionRequest
        | subscription_pb2.UpdateSubscriptionRequest
        | subscription_pb2.CancelSubscriptionRequest,
        record: Change[subscription_pb2.Subscription],
        complete: Complete[subscription_pb2.Subscription],
    ) -> subscription_pb2.Subscription:
        if await self._mutations.key_seen(merchant_id):
            return await self._mutations.resume(
                merchant_id, request, subscription_pb2.Subscription, complete, self._lease
            )
        return await self._mutations.phased(
            merchant_id, request, subscription_pb2.Subscription, record, complete, self._lease
        )

    # --- invoices ----------------------------------------------------------------------------

    async def get_invoice_item(self, merchant_id: str, item_id: str) -> invoice_items.InvoiceItem:
        async with self._shards.read(merchant_id) as connection:
            return await invoice_items.get(connection, merchant_id, item_id)

    async def get_invoice(self, merchant_id: str, invoice_id: str) -> Invoice:
        async with self._shards.read(merchant_id) as connection:
            found = await InvoiceRepository(connection).get(merchant_id, invoice_id)
        if found is None:
            raise not_found("invoice", invoice_id)
        return found

    async def list_invoices(
        self,
        merchant_id: str,
        limit: int,
        starting_after: str,
        customer_id: str,
        subscription_id: str,
        status: InvoiceStatus | None,
    ) -> Page[Invoice]:
        async with self._shards.read(merchant_id) as connection:
            return await InvoiceRepository(connection).list(
                merchant_id, limit, starting_after, customer_id, subscription_id, status
            )

    async def pay_invoice(
        self,
        merchant_id: str,
        request: subscription_pb2.PayInvoiceRequest,
    ) -> subscription_pb2.Invoice:
        async def record(connection: AsyncConnection) -> subscription_pb2.Invoice:
            subscription, invoice = await self._locked_invoice(connection, merchant_id, request.id)
            if invoice.status not in PAYABLE or invoice.charging:
                raise _unexpected(invoice, "paid")
            now = await lifecycle.clock_now(connection, merchant_id, subscription.test_clock_id)
            if invoice.status is InvoiceStatus.DRAFT:
                invoice = await invoices.finalize(connection, invoice, now)
            if request.paid_out_of_band and invoice.status is not InvoiceStatus.PAID:
                invoice = await invoices.mark_paid(connection, invoice, now)
            if invoice.status is InvoiceStatus.PAID:
                await lifecycle.save(
                    connection, subscription, await after_payment(connection, subscription)
                )
                return invoice_message(invoice)
            if request.payment_method:
                await require_attached(
                    connection,
                    merchant_id,
                    request.payment_method,
                    invoice.customer_id,
                    "payment_method",
                )
            started = await self.collection.start(
                connection,
                subscription,
                replace(invoice, status=InvoiceStatus.OPEN),
                now,
                scheduled=False,
                payment_method_id=request.payment_method or None,
            )
            await lifecycle.save(connection, subscription, subscription)
            await self._hold(connection, merchant_id, subscription.id)
            return invoice_message(started)

        async def complete(
            invoice_id: str, final: FinalAnswer[subscription_pb2.Invoice]
        ) -> subscription_pb2.Invoice:
            engine = self._shards.engine_for_merchant(merchant_id)
            await self.collection.settle_within(engine, merchant_id, invoice_id, SETTLE_WAIT)
            invoice = await self.get_invoice(merchant_id, invoice_id)
            await self._release(merchant_id, invoice.subscription_id)
            return invoice_message(invoice)

        if await self._mutations.key_seen(merchant_id):
            return await self._mutations.resume(
                merchant_id, request, subscription_pb2.Invoice, complete, self._lease
            )
        return await self._mutations.phased(
            merchant_id, request, subscription_pb2.Invoice, record, complete, self._lease
        )

    async def void_invoice(
        self, connection: AsyncConnection, merchant_id: str, invoice_id: str
    ) -> Invoice:
        subscription, invoice = await self._locked_invoice(connection, merchant_id, invoice_id)
        if invoice.status not in PAYABLE or invoice.charging:
            raise _unexpected(invoice, "voided")
        voided = await invoices.void(connection, invoice)
        if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
            await lifecycle.save(
                connection, subscription, await after_payment(connection, subscription)
            )
        else:
            await lifecycle.save(connection, subscription, subscription)
        return voided

    async def _locked_invoice(
        self, connection: AsyncConnection, merchant_id: str, invoice_id: str
    ) -> tuple[Subscription, Invoice]:
        """The invoice and its subscription, locked in that order (the order settle uses)."""
        repository = InvoiceRepository(connection)
        found = await repository.get(merchant_id, invoice_id)
        if found is None:
            raise not_found("invoice", invoice_id)
        subscription = await SubscriptionRepository(connection).get(
            merchant_id, found.subscription_id, lock=True
        )
        invoice = await repository.get(merchant_id, invoice_id, lock=True)
        if subscription is None or invoice is None:
            violated(f"invoice {invoice_id} or its subscription vanished")
        return subscription, invoice

    # --- test clocks and settings ------------------------------------------------------------

    async def advance_clock(
        self, connection: AsyncConnection, merchant_id: str, clock_id: str, frozen_time: int
    ) -> subscription_pb2.TestClock:
        """ADVANCING at `frozen_time`; the billing job catches its subscriptions up and then
        makes it READY."""
        clocks = TestClockRepository(connection)
        clock = await clocks.get(merchant_id, clock_id, lock=True)
        if clock is None:
            raise not_found("test_clock", clock_id)
        if clock.status is TestClockStatus.ADVANCING:
            raise ApiError(Reason.TEST_CLOCK_ADVANCING, param="id", id=clock_id)
        if frozen_time <= clock.frozen_time:
            raise invalid("frozen_time", f"must be later than the clock's {clock.frozen_time}")
        if frozen_time > clock.frozen_time + ADVANCE_MAX_SECONDS:
            raise invalid("frozen_time", "must be at most two years after the clock's time")
        advanced = await clocks.set(merchant_id, clock_id, TestClockStatus.ADVANCING, frozen_time)
        return clock_message(advanced)

    async def get_settings(self, merchant_id: str) -> subscription_pb2.BillingSettings:
        async with self._shards.read(merchant_id) as connection:
            return settings_message(await BillingSettingsRepository(connection).get(merchant_id))

    async def update_settings(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        schedule: tuple[int, ...] | None,
        final_action: FinalAction | None,
    ) -> subscription_pb2.BillingSettings:
        repository = BillingSettingsRepository(connection)
        current = await repository.get(merchant_id)
        changed = replace(
            current,
            retry_schedule_days=current.retry_schedule_days if schedule is None else schedule,
            final_action=current.final_action if final_action is None else final_action,
        )
        await repository.put(merchant_id, changed)
        return settings_message(changed)


def _unexpected(invoice: Invoice, action: str) -> ApiError:
    status = "charging" if invoice.charging else invoice.status.value
    return ApiError(
        Reason.INVOICE_UNEXPECTED_STATE, param="id", id=invoice.id, status=status, action=action
    )
