"""Pay-out test support: a server of its own and a bank simulator sharing one clock that the
test moves forward (`World.advance`), the worker's pay-out jobs run by hand, a merchant with
money, and the checks every scenario ends with (the books balance; per account and currency,
pending + available + in transit + paid out = the net of what came in)."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paycore.app import Platform, build_platform, start_server
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.payout.banking import iban_check_digits
from paycore.runtime.server import GrpcServer
from paycore.tools.psp.simulator import start_simulator
from paycore.v1 import ledger_pb2, payment_pb2, payout_pb2, wallet_pb2
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.helpers import PspSimulator, create_merchant
from tests.payment.shop import (
    NO_LIMITS,
    PAYIN_TIMINGS,
    Shop,
    good_card,
    run_executor_once,
    until_settled,
)

START = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)  # a Monday
DAY = 86_400
ROUTING = "110000000"
PAID = "000123456789"
NO_ACCOUNT = "000111111116"
ACCOUNT_CLOSED = "000111111113"
INVALID_NUMBER = "000222222227"
COULD_NOT_PROCESS = "000333333335"
RETURNED_AFTER_PAID = "000444444440"
ANSWER_LOST = "000555555553"
TIMES_OUT = "000666666664"


@dataclass
class Clock:
    """The pay-out clock and the bank's: unix seconds, moved by the test."""

    now: float = field(default_factory=START.timestamp)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    platform: Platform
    server: GrpcServer
    admin: Paycore
    admin_token: str
    clock: Clock
    psp: PspSimulator

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def run_jobs(self) -> None:
        """The worker's pay-out jobs (and the executor's resume), each until it finds nothing."""
        pay_out = self.platform.pay_out
        executor = self.platform.pay_in.executor
        for engine in self.platform.shards.engines:
            while await pay_out.availability.run(engine):
                pass
            while await pay_out.scheduler.run(engine):
                pass
            await executor.resume_due(engine)
            while await pay_out.tracker.run(engine):
                pass

    async def run_worker_once(self) -> int:
        return await run_executor_once(self.platform)

    async def advance(self, days: float) -> None:
        self.clock.advance(days * DAY)
        await self.run_jobs()

    async def shop(self, name: str = "Shop") -> PayoutShop:
        created = await create_merchant(self.admin, self.target, name=name)
        operator = connect(self.target, self.admin_token, acting_for=created.merchant.id)
        return PayoutShop(created.merchant, created.client, operator, self.run_worker_once, self)

    async def sql(
        self, merchant_id: str, statement: str, **values: object
    ) -> list[tuple[object, ...]]:
        async with self.platform.shards.read(merchant_id) as connection:
            rows = await connection.execute(text(statement), values)
            return [tuple(row) for row in rows.all()]


@contextlib.asynccontextmanager
async def open_world(migrated: Settings, data_dir: Path, **overrides: Any) -> AsyncIterator[World]:
    """A server of its own and a PSP/bank simulator (store under `data_dir`) sharing one
    clock; `overrides` are settings beyond the world's own (webhooks to 127.0.0.1, say), or in
    place of its pay-in timings."""
    clock = Clock()
    simulator = await start_simulator("127.0.0.1:0", data_dir, hang_seconds=1, clock=clock)
    settings = migrated.with_overrides(
        psp_url=simulator.url, rate_limits_per_second=NO_LIMITS, **{**PAYIN_TIMINGS, **overrides}
    )
    platform = build_platform(settings, CollectorRegistry(), clock)
    await forget_feeds(platform, simulator.url)
    server = await start_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", settings.admin_token)
    try:
        yield World(
            platform, server, admin, settings.admin_token, clock, PspSimulator(simulator, data_dir)
        )
    finally:
        await admin.close()
        await server.stop(1)
        await platform.close()
        await simulator.close()


async def forget_feeds(platform: Platform, psp_url: str) -> None:
    """Drops the PSP feeds' positions and leases (disputes, authentications, early fraud
    warnings: named by the PSP's URL) that an earlier test's simulator left at this URL: the
    session's databases outlive it, and a new simulator given the same port starts its
    sequences again, so the stale position (or a lease until a far-advanced clock) hid its
    first items (a dispute never read: once in a full run)."""
    for engine in platform.shards.engines:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM dispute_feeds WHERE name = :url OR name LIKE :url || '#%'"),
                {"url": psp_url},
            )


@dataclass
class PayoutShop(Shop):
    world: World

    async def charge(self, amount: int, currency: str = "usd") -> payment_pb2.PaymentIntent:
        intent = await self.pay(good_card(), amount, currency)
        assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
        return intent

    async def checkout(
        self, orders: list[tuple[str, int]], *, card: str = "", currency: str = "usd"
    ) -> payment_pb2.Payment:
        """A checkout paid with `card` (a good one by default): one payment order of (seller,
        amount) each, all succeeded."""
        order = payment_pb2.CreatePaymentRequest.PaymentOrder
        payment = await self.client.payments.CreatePayment(
            payment_pb2.CreatePaymentRequest(
                checkout_id="cart-" + secrets.token_hex(6),
                payment_method=await self.card(card or good_card()),
                # A buyer of its own per checkout: thirty simulated days pass in a real minute, and
                # the fraud counters (cards per IP per minute) would otherwise see one busy IP.
                buyer_info=payment_pb2.BuyerInfo(
                    email=f"buyer-{secrets.token_hex(4)}@example.com",
                    ip=f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}",
                ),
                payment_orders=[
                    order(
                        payment_order_id="o-" + secrets.token_hex(6),
                        seller_account=seller,
                        amount=amount,
                        currency=currency,
                    )
                    for seller, amount in orders
                ],
            )
        )
        request = payment_pb2.GetPaymentRequest(id=payment.id)

        async def read() -> payment_pb2.Payment:
            return await self.client.payments.GetPayment(request)

        def in_flight(found: payment_pb2.Payment) -> bool:
            return found.status == payment_pb2.PAYMENT_STATUS_PROCESSING

        payment = await until_settled(payment, read, in_flight, self.worker_pass)
        assert payment.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED, payment
        return payment

    async def refund(self, intent: str, amount: int) -> payment_pb2.Refund:
        return await self.client.payments.CreateRefund(
            payment_pb2.CreateRefundRequest(payment_intent=intent, amount=amount)
        )

    async def bank_account(
        self, number: str = PAID, *, account: str = "", currency: str = "usd", default: bool = True
    ) -> payout_pb2.BankAccount:
        return await self.client.payouts.CreateBankAccount(
            payout_pb2.CreateBankAccountRequest(
                account=account,
                country="US",
                currency=currency,
                account_holder_name="Jenny Rosen",
                account_holder_type=payout_pb2.BANK_ACCOUNT_HOLDER_TYPE_COMPANY,
                routing_number=ROUTING,
                account_number=number,
                default_for_currency=default,
            )
        )

    async def payout(
        self,
        amount: int,
        *,
        account: str = "",
        destination: str = "",
        instant: bool = False,
        key: str | None = None,
        currency: str = "usd",
    ) -> payout_pb2.Payout:
        return await self.client.payouts.CreatePayout(
            payout_pb2.CreatePayoutRequest(
                amount=amount,
                currency=currency,
                account=account,
                destination=destination,
                method=payout_pb2.PAYOUT_METHOD_INSTANT
                if instant
                else payout_pb2.PAYOUT_METHOD_STANDARD,
            ),
            metadata=(("idempotency-key", key),) if key else None,
        )

    async def get_payout(self, payout_id: str) -> payout_pb2.Payout:
        return await self.client.payouts.GetPayout(payout_pb2.GetPayoutRequest(id=payout_id))

    async def payouts(self, account: str = "") -> list[payout_pb2.Payout]:
        found: list[payout_pb2.Payout] = []
        after = ""
        while True:
            page = await self.client.payouts.ListPayouts(
                payout_pb2.ListPayoutsRequest(limit=100, starting_after=after, account=account)
            )
            found += page.data
            if not page.has_more:
                return found
            after = page.data[-1].id

    async def transactions(
        self, account: str = "", payout: str = ""
    ) -> list[wallet_pb2.BalanceTransaction]:
        found: list[wallet_pb2.BalanceTransaction] = []
        after = ""
        while True:
            page = await self.client.wallet.ListBalanceTransactions(
                wallet_pb2.ListBalanceTransactionsRequest(
                    limit=100, starting_after=after, account=account, payout=payout
                )
            )
            found += page.data
            if not page.has_more:
                return found
            after = page.data[-1].id

    async def schedule(
        self, interval: int, *, account: str = "", weekly_anchor: int = 0
    ) -> payout_pb2.PayoutSchedule:
        return await self.client.payouts.UpdatePayoutSchedule(
            payout_pb2.UpdatePayoutScheduleRequest(
                account=account,
                interval=interval,  # type: ignore[arg-type]
                weekly_anchor=weekly_anchor,  # type: ignore[arg-type]
            )
        )

    async def ledger_balance(self, code: str, currency: str = "usd") -> int:
        """credits - debits posted of one of the merchant's ledger accounts (0 if none)."""
        rows = await self.world.sql(
            self.id,
            "select credits_posted - debits_posted from ledger_accounts"
            " where merchant_id = :m and code = :c and currency = :cur",
            m=self.id,
            c=code,
            cur=currency,
        )
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    async def assert_identity(self, account: str = "", currency: str = "usd") -> None:
        """pending + available + in transit + paid out = the net of what came in (payments less
        fees, refunds, transfers, the fees of instant payouts that did not fail)."""
        suffix = f":{account}" if account else ""
        pending = await self.ledger_balance("balance_pending" + suffix, currency)
        available = await self.ledger_balance("balance_available" + suffix, currency)
        in_transit = await self.ledger_balance("payouts_in_transit" + suffix, currency)
        payouts = await self.payouts(account)
        paid_out = sum(
            p.amount
            for p in payouts
            if p.status == payout_pb2.PAYOUT_STATUS_PAID and p.currency == currency
        )
        # An instant payout's fee comes back when it fails (or is canceled).
        returned = (payout_pb2.PAYOUT_STATUS_FAILED, payout_pb2.PAYOUT_STATUS_CANCELED)
        fees = sum(p.fee for p in payouts if p.currency == currency and p.status not in returned)
        transactions = await self.transactions(account)
        came_in = sum(
            t.net
            for t in transactions
            if t.currency == currency
            and t.type
            not in (
                wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
                wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_CANCEL,
                wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE,
            )
        )
        assert pending + available + in_transit + paid_out == came_in - fees, (
            pending,
            available,
            in_transit,
            paid_out,
            came_in,
            fees,
        )
        # The rows agree with the ledger: pending rows are what balance_pending holds.
        pending_rows = sum(
            t.net
            for t in transactions
            if t.currency == currency and t.status == wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING
        )
        available_rows = sum(
            t.net
            for t in transactions
            if t.currency == currency
            and t.status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
        )
        assert (pending_rows, available_rows) == (pending, available)

    async def assert_clean(self, currency: str = "usd") -> None:
        report = await self.operator.ledger.CheckIntegrity(
            ledger_pb2.CheckIntegrityRequest(merchant=self.id, currency=currency)
        )
        assert report.ok, list(report.mismatches)


async def send_pending(world: World, shop: PayoutShop, payout_id: str) -> payout_pb2.Payout:
    """What the worker does once the executor's lease has passed: sends the queued payout."""
    payout = await world.platform.pay_out.reads.payout(shop.id, payout_id)
    await world.platform.pay_out.payouts.send(payout)
    return await shop.get_payout(payout_id)


async def paid_seller_payout(
    world: World, shop: PayoutShop, amount: int, number: str = PAID
) -> tuple[str, payout_pb2.Payout]:
    """A seller with funds from a checkout, a bank account, and a manual payout of `amount`
    that the bank paid."""
    seller = await shop.seller("Alice")
    await shop.bank_account(number, account=seller)
    await shop.checkout([(seller, 10_000)])
    await world.advance(2)
    payout = await shop.payout(amount, account=seller)
    await send_pending(world, shop, payout.id)
    for _ in range(5):
        await world.advance(1)
        payout = await shop.get_payout(payout.id)
        if payout.status == payout_pb2.PAYOUT_STATUS_PAID:
            return seller, payout
    raise AssertionError(f"never paid: {payout}")


def iban(country: str, bban: str) -> str:
    return country + iban_check_digits(country, bban) + bban
