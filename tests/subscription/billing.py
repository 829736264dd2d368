"""The acceptance tests' harness for subscriptions (issue 7): a merchant on the pay-in server
(tests/payment/shop.py), a customer with a card, a product, prices and a test clock; a way to
move the clock and run what `paycore worker` runs until billing has caught up; and what the
books must show afterwards.

Expected amounts and dates are computed here from the stated rules (docs/subscriptions.md and
server/paycore/subscription/proration.py's docstring) with arithmetic of the tests' own, never
read back from the server or imported from it.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from paycore.client import idempotency_key
from paycore.tools.psp.store import DATABASE_FILE
from paycore.v1 import customer_pb2, event_pb2, subscription_pb2
from paycore.worker.job import Job

from tests.customer.support import new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import (
    MONTHLY,
    billing_job,
    new_price,
    new_product,
    settle_clock,
    work_once,
)

DAY = 86_400
HOUR = 3_600

Sub = subscription_pb2.Subscription
Inv = subscription_pb2.Invoice


def utc(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def add_months(instant: int, months: int) -> int:
    """`instant` moved by whole months, the day kept or clamped to the month's last day (the
    month-end rule of the issue: Jan 31 -> Feb 28/29 -> Mar 31, always from the anchor)."""
    moment = datetime.fromtimestamp(instant, UTC)
    year, index = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, index + 1)[1])
    return int(moment.replace(year=year, month=index + 1, day=day).timestamp())


def share(amount: int, start: int, end: int, at: int) -> int:
    """The part of `amount` (a whole period's) on [at, end): the exact fraction of the period in
    seconds, rounded to the minor unit, halves up."""
    exact = Fraction(amount * (end - at), end - start)
    return int(exact + Fraction(1, 2))  # int() truncates; exact >= 0 so this is floor(x + 1/2)


def net(paid: Iterable[int]) -> int:
    """What the seller's wallet holds pending after these payments: each net of the fee."""
    return sum(amount - fee(amount) for amount in paid)


@dataclass(frozen=True)
class Charge:
    """A charge as the PSP simulator stored it."""

    reference: str
    amount: int
    currency: str
    status: str


def psp_charges(psp: PspSimulator) -> list[Charge]:
    """Every charge the simulator received, read from its store (what its settlement report
    is built from)."""
    with contextlib.closing(sqlite3.connect(psp.data_dir / DATABASE_FILE)) as connection:
        rows = connection.execute(
            "select reference, amount, currency, status from charges order by created_ms"
        ).fetchall()
    return [Charge(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]


def psp_refunds(psp: PspSimulator) -> list[tuple[int, str]]:
    """Every refund the simulator made: (amount, currency)."""
    with contextlib.closing(sqlite3.connect(psp.data_dir / DATABASE_FILE)) as connection:
        rows = connection.execute("select amount, currency from refunds order by created_ms")
        return [(int(row[0]), str(row[1])) for row in rows.fetchall()]


def captured(psp: PspSimulator) -> list[Charge]:
    return [charge for charge in psp_charges(psp) if charge.status == "captured"]


@dataclass
class Billing:
    """One merchant's subscription world on one test clock."""

    payin: PayIn
    shop: Shop
    psp: PspSimulator
    clock_id: str
    customer: str
    card: str
    product: str
    job: Job
    """The worker's "subscription_billing" job (paycore.app.build_jobs)."""

    @property
    def api(self) -> Any:
        """The merchant's SubscriptionService stub."""
        return self.shop.client.subscriptions

    # --- catalogue and subscriptions ---------------------------------------------------------

    async def price(
        self,
        unit_amount: int,
        currency: str = "usd",
        recurring: subscription_pb2.Recurring | None = MONTHLY,
    ) -> str:
        fields: dict[str, Any] = {"recurring": recurring} if recurring is not None else {}
        created = await new_price(self.shop.client, self.product, unit_amount, currency, **fields)
        return str(created.id)

    async def subscribe(
        self,
        items: Sequence[tuple[str, int | None]],
        *,
        payment_method: str | None = None,
        key: str | None = None,
        **fields: Any,
    ) -> Sub:
        request = subscription_pb2.CreateSubscriptionRequest(
            customer=self.customer,
            items=[_item(price, quantity) for price, quantity in items],
            default_payment_method=self.card if payment_method is None else payment_method,
            test_clock=self.clock_id,
            **fields,
        )
        created: Sub = await self.api.CreateSubscription(
            request, metadata=idempotency_key(key) if key else None
        )
        return created

    async def subscription(self, subscription_id: str) -> Sub:
        found: Sub = await self.api.GetSubscription(
            subscription_pb2.GetSubscriptionRequest(id=subscription_id)
        )
        return found

    async def update(self, subscription_id: str, **fields: Any) -> Sub:
        updated: Sub = await self.api.UpdateSubscription(
            subscription_pb2.UpdateSubscriptionRequest(id=subscription_id, **fields)
        )
        return updated

    async def invoice(self, invoice_id: str) -> Inv:
        found: Inv = await self.api.GetInvoice(subscription_pb2.GetInvoiceRequest(id=invoice_id))
        return found

    async def invoices(self, subscription_id: str = "") -> list[Inv]:
        """Every invoice (of one subscription, or the merchant's), oldest period first."""
        found: list[Inv] = []
        after = ""
        while True:
            page = await self.api.ListInvoices(
                subscription_pb2.ListInvoicesRequest(
                    subscription=subscription_id, limit=100, starting_after=after
                )
            )
            found.extend(page.data)
            if not page.has_more or not page.data:
                break
            after = page.data[-1].id
        return sorted(found, key=_invoice_order)

    async def card_of_customer(self, number: str | None = None) -> str:
        """A new card attached to the customer ("pm_..."); a fresh good one by default."""
        return await self.shop.card(number or good_card(), customer=self.customer)

    async def set_customer_default(self, payment_method: str) -> None:
        await self.shop.client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(
                id=self.customer,
                invoice_settings=customer_pb2.InvoiceSettings(
                    default_payment_method=payment_method
                ),
            )
        )

    # --- time --------------------------------------------------------------------------------

    async def clock(self) -> subscription_pb2.TestClock:
        found: subscription_pb2.TestClock = await self.api.GetTestClock(
            subscription_pb2.GetTestClockRequest(id=self.clock_id)
        )
        return found

    async def now(self) -> int:
        return int((await self.clock()).frozen_time)

    async def advance(self, to: int) -> subscription_pb2.TestClock:
        """Moves the clock to `to` and works until billing has caught up with it."""
        await self.api.AdvanceTestClock(
            subscription_pb2.AdvanceTestClockRequest(id=self.clock_id, frozen_time=to)
        )
        clock = await self.settle()
        assert clock.frozen_time == to, clock
        return clock

    async def work_once(self) -> int:
        return await work_once(self.payin, self.job)

    async def settle(self) -> subscription_pb2.TestClock:
        return await settle_clock(self.payin, self.job, self.shop.client, self.clock_id)

    async def wait_invoice(self, invoice_id: str, status: int, bound: float = 10.0) -> Inv:
        """Polls an invoice (working between polls) until it has `status`; bounded."""
        deadline = time.monotonic() + bound
        while True:
            invoice = await self.invoice(invoice_id)
            if invoice.status == status or time.monotonic() > deadline:
                return invoice
            await self.work_once()
            await asyncio.sleep(0.05)

    async def event_count(self, event_type: str) -> int:
        """How many events of `event_type` the merchant has."""
        count, after = 0, ""
        while True:
            page = await self.shop.client.events.ListEvents(
                event_pb2.ListEventsRequest(type=event_type, limit=100, starting_after=after)
            )
            count += len(page.data)
            if not page.has_more or not page.data:
                return count
            after = page.data[-1].id

    # --- the books ---------------------------------------------------------------------------

    async def assert_books(self, pending: int, currency: str = "usd") -> None:
        """The ledger balances and the wallet holds exactly `pending` (minor units) pending."""
        await self.shop.assert_books_balance(currency)
        available, found = await self.shop.balance()
        assert found.get(currency, 0) == pending, (found, pending)
        assert available.get(currency, 0) == 0, available


async def open_billing(payin: PayIn, shop: Shop, psp: PspSimulator, start: int) -> Billing:
    """A customer with a good card attached to it, a product, and a test
    clock frozen at `start`."""
    customer = await new_customer(shop.client, email="payer@shop.test", name="Payer")
    card = await shop.card(good_card(), customer=customer.id)
    product = await new_product(shop.client, name="Gold plan")
    clock = await shop.client.subscriptions.CreateTestClock(
        subscription_pb2.CreateTestClockRequest(frozen_time=start, name="acceptance")
    )
    return Billing(payin, shop, psp, clock.id, customer.id, card, product.id, billing_job(payin))


def _invoice_order(invoice: Inv) -> tuple[int, int, int]:
    """Oldest period first; in one period (a renewal, then a change billed at once on its
    first instant) the order of finalization, which the gapless number gives (drafts last)."""
    number = invoice.number.rsplit("-", 1)[-1]
    return (invoice.period_start, invoice.created, int(number) if number else 1 << 62)


def item_lines(invoice: Inv) -> list[Inv.LineItem]:
    return [line for line in invoice.lines if not line.proration]


def proration_lines(invoice: Inv) -> list[Inv.LineItem]:
    return [line for line in invoice.lines if line.proration]


def _item(price: str, quantity: int | None) -> subscription_pb2.CreateSubscriptionRequest.Item:
    """An item of `price`; a quantity of None is left out (the request's absent quantity)."""
    if quantity is None:
        return subscription_pb2.CreateSubscriptionRequest.Item(price=price)
    return subscription_pb2.CreateSubscriptionRequest.Item(price=price, quantity=quantity)
