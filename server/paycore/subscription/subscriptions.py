"""Subscriptions and invoices as the servicer calls them: reads, and the mutating calls as the
Phases the servicer runs through Mutations (phased wherever a charge may follow: the first phase
records, the second settles the charge outside any transaction)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from paycore.customer.repository import CUSTOMERS
from paycore.customer.test_methods import is_test_payment_method
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.invariants import violated
from paycore.payment.models import IntentStatus
from paycore.payment.payer import PayerCards
from paycore.records import MetadataChange
from paycore.runtime.mutations import Complete, FinalAnswer, Phases
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Named, Page, Reads, page_after
from paycore.subscription import changes as changes_module
from paycore.subscription import invoice_items, invoices, lifecycle, one_off, preview
from paycore.subscription.changes import ItemChange, SubscriptionChanges
from paycore.subscription.clock_deletion import DeleteCustomer, delete_test_clock
from paycore.subscription.collection import (
    PAID_OTHERWISE,
    VOID_INVOICE,
    Collection,
    after_payment,
    declined,
    requested,
    requires_action,
)
from paycore.subscription.creation import expire_declined, require_attached, start_subscription
from paycore.subscription.events import TEST_CLOCK_ADVANCING
from paycore.subscription.invoice_store import INVOICES, InvoiceRepository, invoices_query
from paycore.subscription.models import (
    BillingSettings,
    Discount,
    FinalAction,
    Invoice,
    InvoiceChanges,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    NewInvoice,
    NewInvoiceItem,
    NewSubscription,
    NewSubscriptionItem,
    PaymentBehavior,
    Period,
    PlacedItem,
    ProrationBehavior,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
    TestClock,
    TestClockStatus,
)
from paycore.subscription.one_off import locked_invoice, unexpected
from paycore.subscription.periods import SECONDS_PER_DAY
from paycore.subscription.preview import PreviewRequest
from paycore.subscription.repository import PRICES, TEST_CLOCKS, TestClockRepository
from paycore.subscription.store import (
    SUBSCRIPTION_ITEMS,
    SUBSCRIPTIONS,
    BillingSettingsRepository,
    SubscriptionRepository,
    subscriptions_query,
)
from sqlalchemy.ext.asyncio import AsyncConnection

# AdvanceTestClock moves a clock at most this far in one call (Stripe: two intervals of the
# longest price; here two years).
ADVANCE_MAX_SECONDS = 2 * 366 * SECONDS_PER_DAY
# How long a call's second phase waits for a charge another runner is completing.
SETTLE_WAIT = 2.0
PAYABLE = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE})


class Subscriptions:
    def __init__(
        self,
        shards: Shards,
        collection: Collection,
        lease: timedelta,
        cards: PayerCards,
        delete_customer: DeleteCustomer,
    ) -> None:
        """`cards`: where a test payment method's name (`pm_card_visa`) becomes a payment
        method of its card, as for a payment intent (paycore.payment.payer);
        `delete_customer`: DeleteCustomer's, for the customers of a deleted test clock."""
        self._shards = shards
        self._delete_customer = delete_customer
        self._cards = cards
        self._reads = Reads(shards)
        self.collection = collection
        self._events = collection.events
        self.lease = lease

    # --- subscriptions -----------------------------------------------------------------------

    def create(self, merchant_id: str, new: NewSubscription) -> Phases[Subscription]:
        async def record(connection: AsyncConnection) -> Subscription:
            created = await start_subscription(connection, self.collection, merchant_id, new)
            await self._hold(connection, merchant_id, created.id)
            return created

        settled = self.settled(merchant_id)
        if new.payment_behavior is not PaymentBehavior.ERROR_IF_INCOMPLETE:
            return Phases(record, settled)

        async def refuse_incomplete(
            subscription_id: str, final: FinalAnswer[Subscription]
        ) -> Subscription:
            """error_if_incomplete: a declined first charge refuses the create (CARD_DECLINED,
            stored under the idempotency key as the call's answer); the subscription ends
            incomplete_expired, its invoice void."""
            subscription = await settled(subscription_id, final)
            if subscription.status is not SubscriptionStatus.INCOMPLETE:
                return subscription
            async with self._shards.transaction(merchant_id) as connection:
                intent = await expire_declined(
                    connection, self.collection, merchant_id, subscription_id
                )
            if intent is not None and intent.status is IntentStatus.REQUIRES_ACTION:
                raise requires_action(intent, subscription.latest_invoice_id or "")
            if intent is not None:
                raise declined(intent, subscription.latest_invoice_id or "")
            return await self.get(merchant_id, subscription_id)

        return Phases(record, refuse_incomplete)

    def update(
        self, merchant_id: str, subscription_id: str, changes: SubscriptionChanges
    ) -> Phases[Subscription]:
        async def record(connection: AsyncConnection) -> Subscription:
            updated = await changes_module.update(
                connection, self.collection, merchant_id, subscription_id, changes
            )
            await self._hold(connection, merchant_id, updated.id)
            return updated

        return Phases(record, self.settled(merchant_id))

    async def delete_discount(
        self, connection: AsyncConnection, merchant_id: str, subscription_id: str
    ) -> Discount:
        """DeleteSubscriptionDiscount: the discount UpdateSubscription's clear_discounts
        removes (customer.discount.deleted), answered as it was; RESOURCE_MISSING naming `id`
        when the subscription has none (as Stripe's), SUBSCRIPTION_ENDED once it has ended."""
        subscription = await changes_module.locked(connection, merchant_id, subscription_id)
        if subscription.discount is None:
            raise not_found("discount", subscription_id)
        cleared = SubscriptionChanges(
            items=(),
            proration=ProrationBehavior.NONE,
            cancel_at_period_end=None,
            default_payment_method_id=None,
            metadata=MetadataChange(),
            clear_discounts=True,
        )
        await changes_module.update(
            connection, self.collection, merchant_id, subscription_id, cleared
        )
        return subscription.discount

    def cancel(
        self,
        merchant_id: str,
        subscription_id: str,
        at_period_end: bool,
        prorate: bool,
        invoice_now: bool = False,
    ) -> Phases[Subscription]:
        charges = self.collection.charges

        async def record(connection: AsyncConnection) -> Subscription:
            canceled = await changes_module.cancel(
                connection,
                self.collection,
                merchant_id,
                subscription_id,
                at_period_end,
                prorate,
                invoice_now,
            )
            if invoice_now:
                await self._hold(connection, merchant_id, canceled.id)
            return canceled

        async def complete(subscription_id: str, final: FinalAnswer[Subscription]) -> Subscription:
            """Charges the last invoice (invoice_now), then runs the prorated refunds, if any,
            on the period's paid intents."""
            if invoice_now:
                await self.settle_charging(merchant_id, subscription_id)
            if prorate:
                canceled = await self.get(merchant_id, subscription_id)
                async with self._shards.read(merchant_id) as connection:
                    intents = await changes_module.period_intents(connection, canceled)
                for intent_id in intents:
                    await charges.run_refunds(merchant_id, intent_id)
            return await self.get(merchant_id, subscription_id)

        return Phases(record, complete)

    async def get(self, merchant_id: str, subscription_id: str, param: str = "id") -> Subscription:
        return await self._reads.one(merchant_id, SUBSCRIPTIONS, subscription_id, param)

    async def list(
        self,
        merchant_id: str,
        cursor: Cursor,
        customer_id: str,
        price_id: str,
        statuses: frozenset[SubscriptionStatus] | None,
        clock_id: str = "",
    ) -> Page[Subscription]:
        """Newest first; `statuses` None lists every one not canceled (Stripe's default)."""
        query = subscriptions_query(merchant_id, customer_id, price_id, statuses, clock_id)
        named = [
            Named("customer", CUSTOMERS, customer_id),
            Named("price", PRICES, price_id),
            Named("test_clock", TEST_CLOCKS, clock_id),
        ]
        return await self._reads.page(merchant_id, SUBSCRIPTIONS, cursor, query, named)

    async def list_items(
        self, merchant_id: str, subscription_id: str, cursor: Cursor
    ) -> tuple[Page[SubscriptionItem], Period]:
        """The subscription's items in its order, from the one after `cursor.starting_after`
        (which must be one of them: INVALID_ARGUMENT naming `starting_after`), and its
        current period. The subscription is the list's filter: missing, it is RESOURCE_MISSING
        naming `subscription`."""
        subscription = await self.get(merchant_id, subscription_id, "subscription")
        items = subscription.items
        page = page_after(items, [item.id for item in items], cursor, "subscription")
        return page, subscription.current_period

    # --- subscription items (Stripe's SubscriptionItem routes: UpdateSubscription's path) ----

    async def get_item(self, merchant_id: str, item_id: str) -> PlacedItem:
        item = await self._reads.one(merchant_id, SUBSCRIPTION_ITEMS, item_id)
        subscription = await self.get(merchant_id, item.subscription_id)
        return PlacedItem(item, subscription.current_period)

    def create_item(self, merchant_id: str, new: NewSubscriptionItem) -> Phases[PlacedItem]:
        """The price added to the subscription as UpdateSubscription adds an item (prorated
        as `new.proration` says; an always_invoice invoice charged in the call)."""
        change = ItemChange(
            item_id=None,
            price_id=new.price_id,
            quantity=new.quantity,
            deleted=False,
            metadata=MetadataChange(new.metadata),
            prefix="",
        )

        async def record(connection: AsyncConnection) -> PlacedItem:
            updated = await self._item_changed(
                connection,
                merchant_id,
                new.subscription_id,
                change,
                new.proration,
                new.proration_date,
            )
            await self._hold(connection, merchant_id, updated.id)
            added = next(item for item in updated.items if item.price_id == new.price_id)
            return PlacedItem(added, updated.current_period)

        return Phases(record, self._item_settled(merchant_id))

    def update_item(
        self,
        merchant_id: str,
        item_id: str,
        change: ItemChange,
        proration: ProrationBehavior,
        proration_date: int | None = None,
    ) -> Phases[PlacedItem]:
        """The item's price, quantity or metadata changed as UpdateSubscription changes it
        (prorated at `proration_date`, None: now)."""

        async def record(connection: AsyncConnection) -> PlacedItem:
            item = await self._item_of(connection, merchant_id, item_id)
            updated = await self._item_changed(
                connection, merchant_id, item.subscription_id, change, proration, proration_date
            )
            await self._hold(connection, merchant_id, updated.id)
            changed = next(each for each in updated.items if each.id == item_id)
            return PlacedItem(changed, updated.current_period)

        return Phases(record, self._item_settled(merchant_id))

    async def delete_item(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        item_id: str,
        proration: ProrationBehavior,
    ) -> SubscriptionItem:
        """The item removed as UpdateSubscription removes one (its proration credit as
        `proration` says; an always_invoice invoice is charged by the billing job, the
        subscription due at once). A subscription keeps at least one item."""
        item = await self._item_of(connection, merchant_id, item_id)
        change = ItemChange(item_id=item_id, price_id=None, quantity=None, deleted=True, prefix="")
        await self._item_changed(connection, merchant_id, item.subscription_id, change, proration)
        return item

    async def _item_of(
        self, connection: AsyncConnection, merchant_id: str, item_id: str
    ) -> SubscriptionItem:
        item = await SUBSCRIPTION_ITEMS.require(connection, merchant_id, item_id)
        return item

    async def _item_changed(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        subscription_id: str,
        change: ItemChange,
        proration: ProrationBehavior,
        proration_date: int | None = None,
    ) -> Subscription:
        changes = SubscriptionChanges(
            items=(change,),
            proration=proration,
            cancel_at_period_end=None,
            default_payment_method_id=None,
            metadata=MetadataChange(),
            proration_date=proration_date,
        )
        return await changes_module.update(
            connection, self.collection, merchant_id, subscription_id, changes
        )

    def _item_settled(self, merchant_id: str) -> Complete[PlacedItem]:
        """An item call's second phase: the charges its subscription's change started
        settled, the item read again."""

        async def complete(item_id: str, final: FinalAnswer[PlacedItem]) -> PlacedItem:
            placed = await self.get_item(merchant_id, item_id)
            await self.settle_charging(merchant_id, placed.item.subscription_id)
            return placed

        return complete

    def settled(self, merchant_id: str) -> Complete[Subscription]:
        """The second phase of a subscription call: settles the charges it started."""

        async def complete(subscription_id: str, final: FinalAnswer[Subscription]) -> Subscription:
            await self.settle_charging(merchant_id, subscription_id)
            return await self.get(merchant_id, subscription_id)

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
            merchant_id, subscription_id, self.lease.total_seconds()
        )

    async def _release(self, merchant_id: str, subscription_id: str) -> None:
        async with self._shards.transaction(merchant_id) as connection:
            await SubscriptionRepository(connection).hold(merchant_id, subscription_id, None)

    # --- invoices ----------------------------------------------------------------------------

    async def create_invoice_item(
        self, connection: AsyncConnection, merchant_id: str, new: NewInvoiceItem, invoice_id: str
    ) -> InvoiceItem:
        return await invoice_items.create(connection, self._events, merchant_id, new, invoice_id)

    async def create_invoice(
        self, connection: AsyncConnection, merchant_id: str, new: NewInvoice
    ) -> Invoice:
        return await one_off.create(connection, self._events, merchant_id, new)

    async def update_invoice(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        invoice_id: str,
        changes: InvoiceChanges,
    ) -> Invoice:
        return await one_off.update(connection, self._events, merchant_id, invoice_id, changes)

    async def delete_invoice(
        self, connection: AsyncConnection, merchant_id: str, invoice_id: str
    ) -> Invoice:
        return await one_off.delete(connection, self._events, merchant_id, invoice_id)

    async def finalize_invoice(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        invoice_id: str,
        auto_advance: bool | None,
    ) -> Invoice:
        return await one_off.finalize(
            connection, self._events, self.collection.rules, merchant_id, invoice_id, auto_advance
        )

    async def get_invoice_item(self, merchant_id: str, item_id: str) -> InvoiceItem:
        return await self._reads.one(merchant_id, invoice_items.INVOICE_ITEMS, item_id)

    async def list_invoice_items(
        self,
        merchant_id: str,
        cursor: Cursor,
        customer_id: str,
        invoice_id: str,
        pending: bool | None,
    ) -> Page[InvoiceItem]:
        query = invoice_items.items_query(merchant_id, customer_id, invoice_id, pending)
        named = [
            Named("customer", CUSTOMERS, customer_id),
            Named("invoice", INVOICES, invoice_id),
        ]
        return await self._reads.page(
            merchant_id, invoice_items.INVOICE_ITEMS, cursor, query, named
        )

    async def update_invoice_item(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        item_id: str,
        changes: invoice_items.InvoiceItemChanges,
    ) -> InvoiceItem:
        return await invoice_items.update_item(
            connection, self.collection.rules, merchant_id, item_id, changes
        )

    async def delete_invoice_item(
        self, connection: AsyncConnection, merchant_id: str, item_id: str
    ) -> InvoiceItem:
        return await invoice_items.delete_item(connection, self._events, merchant_id, item_id)

    async def preview_invoice(self, merchant_id: str, request: PreviewRequest) -> Invoice:
        """The subscription's next invoice as it would be made (nothing stored:
        paycore.subscription.preview)."""
        return await preview.upcoming(self._shards, self.collection, merchant_id, request)

    async def get_invoice(self, merchant_id: str, invoice_id: str) -> Invoice:
        return await self._reads.one(merchant_id, INVOICES, invoice_id)

    async def invoice_lines(
        self, merchant_id: str, invoice_id: str, cursor: Cursor
    ) -> Page[InvoiceLine]:
        """The invoice's lines in its order, from the one after `cursor.starting_after` (one
        of them: INVALID_ARGUMENT naming `starting_after`)."""
        lines = (await self.get_invoice(merchant_id, invoice_id)).lines
        return page_after(lines, [line.id for line in lines], cursor, "invoice")

    async def list_invoices(
        self,
        merchant_id: str,
        cursor: Cursor,
        customer_id: str,
        subscription_id: str,
        status: InvoiceStatus | None,
    ) -> Page[Invoice]:
        query = invoices_query(merchant_id, customer_id, subscription_id, status)
        named = [
            Named("customer", CUSTOMERS, customer_id),
            Named("subscription", SUBSCRIPTIONS, subscription_id),
        ]
        return await self._reads.page(merchant_id, INVOICES, cursor, query, named)

    def pay_invoice(
        self,
        merchant_id: str,
        invoice_id: str,
        payment_method_id: str,
        paid_out_of_band: bool,
        off_session: bool = True,
    ) -> Phases[Invoice]:
        """`payment_method_id`: "" for the subscription's own. `off_session` False: the
        customer is present, so a card that must authenticate leaves the invoice open with its
        intent in requires_action (invoice.payment_action_required) for them to complete.
        A test payment method's name (`pm_card_visa`, test mode only) charges a new payment
        method of that card, written in the call's first transaction, as CreatePaymentIntent
        does; it is attached to nobody, so the customer's-card check is for an id only."""

        async def record(connection: AsyncConnection) -> Invoice:
            subscription, invoice = await self._payable_invoice(
                connection, merchant_id, invoice_id, "paid", PAID_OTHERWISE
            )
            now = await lifecycle.clock_now(connection, merchant_id, invoice.test_clock_id)
            before = subscription
            if invoice.status is InvoiceStatus.DRAFT:
                invoice, subscription = await invoices.finalize(
                    connection, self._events, self.collection.rules, subscription, invoice, now
                )
            if paid_out_of_band and invoice.status is not InvoiceStatus.PAID:
                invoice = await invoices.mark_paid(
                    connection, self._events, invoice, now, out_of_band=True
                )
            if invoice.status is InvoiceStatus.PAID:
                if before is not None and subscription is not None:
                    await lifecycle.save(
                        connection,
                        self._events,
                        before,
                        await after_payment(connection, subscription),
                    )
                return invoice
            method = await self._method_given(
                connection, invoice, subscription or invoice, payment_method_id
            )
            started = await self.collection.start(
                connection,
                subscription,
                replace(invoice, status=InvoiceStatus.OPEN),
                now,
                scheduled=False,
                payment_method_id=method,
                off_session=off_session,
            )
            if subscription is not None:
                await lifecycle.save(connection, self._events, subscription, subscription)
                await self._hold(connection, merchant_id, subscription.id)
            return started

        async def complete(paid_id: str, final: FinalAnswer[Invoice]) -> Invoice:
            engine = self._shards.engine_for_merchant(merchant_id)
            await self.collection.settle_within(engine, merchant_id, paid_id, SETTLE_WAIT)
            invoice = await self.get_invoice(merchant_id, paid_id)
            if invoice.subscription_id:
                await self._release(merchant_id, invoice.subscription_id)
            await self._refuse_declined(merchant_id, invoice, payment_method_id)
            return invoice

        return Phases(record, complete)

    async def _method_given(
        self,
        connection: AsyncConnection,
        invoice: Invoice,
        payer: Subscription | Invoice,
        payment_method_id: str,
    ) -> str | None:
        """The payment method PayInvoice charges: the one given (a test payment method's name
        made a card; else one attached to the invoice's customer), None for the `payer`'s
        default (its subscription's, else its customer's). Nothing to charge: refused
        INVOICE_NO_PAYMENT_METHOD, and the transaction (a finalized draft with it) rolled
        back; only a scheduled attempt counts a failure for it (dunning)."""
        merchant_id = invoice.merchant_id
        if is_test_payment_method(payment_method_id):
            card = await self._cards.test_card(merchant_id, payment_method_id, "payment_method")
            await self._cards.save_test_card(connection, merchant_id, card)
            return card.payment_method_id
        if payment_method_id:
            await require_attached(
                connection, merchant_id, payment_method_id, invoice.customer_id, "payment_method"
            )
            return payment_method_id
        if await self.collection.payment_method(connection, payer) is None:
            raise ApiError(Reason.INVOICE_NO_PAYMENT_METHOD, param="payment_method", id=invoice.id)
        return None

    async def _refuse_declined(
        self, merchant_id: str, invoice: Invoice, payment_method_id: str
    ) -> None:
        """CARD_DECLINED when the attempt PayInvoice asked for has failed: the invoice stays
        open, the attempt counted (the dunning schedule unmoved), and the caller hears of the
        decline as Stripe answers it, an error (402 card_error at the REST edge, with the
        intent's code and decline_code), which the idempotency key stores as the call's
        answer. Nothing when the charge is still in flight (the answer is the charging
        invoice). Nothing to charge was refused before (INVOICE_NO_PAYMENT_METHOD)."""
        if invoice.status is not InvoiceStatus.OPEN or invoice.charging:
            return
        if invoice.payment_intent_id is None:
            return
        async with self._shards.read(merchant_id) as connection:
            payer: Subscription | Invoice | None = invoice
            if invoice.subscription_id:
                payer = await SubscriptionRepository(connection).get(
                    merchant_id, invoice.subscription_id
                )
            if payer is None:
                violated(f"invoice {invoice.id}'s subscription vanished")
            charged = payment_method_id or await self.collection.payment_method(connection, payer)
        intent = await self.collection.charges.intent(merchant_id, invoice.payment_intent_id)
        if charged is None or intent is None or not requested(intent):
            return
        if intent.status is IntentStatus.SUCCEEDED or intent.last_error is None:
            return
        raise declined(intent, invoice.id)

    async def void_invoice(
        self, connection: AsyncConnection, merchant_id: str, invoice_id: str
    ) -> Invoice:
        subscription, invoice = await self._payable_invoice(
            connection, merchant_id, invoice_id, "voided", VOID_INVOICE
        )
        now = await lifecycle.clock_now(connection, merchant_id, invoice.test_clock_id)
        voided = await invoices.close(connection, self._events, invoice, InvoiceStatus.VOID, now)
        await self._after_closing(connection, subscription)
        return voided

    async def mark_uncollectible(
        self, connection: AsyncConnection, merchant_id: str, invoice_id: str
    ) -> Invoice:
        """An open invoice given up on (Stripe's mark_uncollectible): closed uncollectible,
        its intent left for the customer canceled; the subscription moves on as voiding it
        would move it."""
        subscription, invoice = await self._payable_invoice(
            connection, merchant_id, invoice_id, "marked uncollectible", VOID_INVOICE
        )
        if invoice.status is not InvoiceStatus.OPEN:  # the refusal rolls the withdrawal back
            raise unexpected(invoice, "marked uncollectible")
        now = await lifecycle.clock_now(connection, merchant_id, invoice.test_clock_id)
        marked = await invoices.close(
            connection, self._events, invoice, InvoiceStatus.UNCOLLECTIBLE, now
        )
        await self._after_closing(connection, subscription)
        return marked

    async def _after_closing(
        self, connection: AsyncConnection, subscription: Subscription | None
    ) -> None:
        """A past_due or unpaid subscription whose invoice closed unpaid moves on as after a
        payment (Stripe's rule for a latest invoice paid, voided or marked uncollectible).
        Nothing for a one-off invoice (None)."""
        if subscription is None:
            return
        if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
            await lifecycle.save(
                connection,
                self._events,
                subscription,
                await after_payment(connection, subscription),
            )
        else:
            await lifecycle.save(connection, self._events, subscription, subscription)

    async def _payable_invoice(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        invoice_id: str,
        action: str,
        withdrawn_because: str,
    ) -> tuple[Subscription | None, Invoice]:
        """The invoice (locked, with its subscription) if it can be paid or voided now: draft
        or open and no charge in flight. Its intent left for the customer (default_incomplete)
        is canceled for `withdrawn_because`; one the customer has confirmed already counts as
        a charge in flight (INVOICE_UNEXPECTED_STATE, status charging)."""
        subscription, invoice = await locked_invoice(connection, merchant_id, invoice_id)
        if invoice.status not in PAYABLE or invoice.charging:
            raise unexpected(invoice, action)
        if not await self.collection.withdraw_from_customer(connection, invoice, withdrawn_because):
            raise unexpected(replace(invoice, charging=True), action)
        return subscription, invoice

    # --- test clocks and settings ------------------------------------------------------------

    async def advance_clock(
        self, connection: AsyncConnection, merchant_id: str, clock_id: str, frozen_time: int
    ) -> TestClock:
        """ADVANCING at `frozen_time`; the billing job catches its subscriptions up and then
        makes it READY."""
        clock = await lifecycle.resting_clock(connection, merchant_id, clock_id)
        if frozen_time <= clock.frozen_time:
            raise invalid("frozen_time", f"must be later than the clock's {clock.frozen_time}")
        if frozen_time > clock.frozen_time + ADVANCE_MAX_SECONDS:
            raise invalid("frozen_time", "must be at most two years after the clock's time")
        advancing = await TestClockRepository(connection).set(
            merchant_id, clock_id, TestClockStatus.ADVANCING, frozen_time
        )
        await self._events.test_clock.record(connection, TEST_CLOCK_ADVANCING, advancing)
        return advancing

    async def delete_clock(
        self, connection: AsyncConnection, merchant_id: str, clock_id: str
    ) -> TestClock:
        """paycore.subscription.clock_deletion."""
        return await delete_test_clock(
            connection, self.collection, self._delete_customer, merchant_id, clock_id
        )

    async def get_settings(self, merchant_id: str) -> BillingSettings:
        async with self._shards.read(merchant_id) as connection:
            return await BillingSettingsRepository(connection).get(merchant_id)

    async def update_settings(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        schedule: tuple[int, ...] | None,
        final_action: FinalAction | None,
    ) -> BillingSettings:
        repository = BillingSettingsRepository(connection)
        current = await repository.get(merchant_id)
        changed = replace(
            current,
            retry_schedule_days=current.retry_schedule_days if schedule is None else schedule,
            final_action=current.final_action if final_action is None else final_action,
        )
        await repository.put(merchant_id, changed)
        return changed
