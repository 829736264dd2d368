"""Reconciliation's fixtures: a desk with its own reconciliation (a fake clock, a fresh PSP
simulator, its own metrics registry) over the session's platform, and two merchants, one on
each physical shard."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from paycore.app import Platform
from paycore.config import Settings
from paycore.ids import Prefix, logical_shard_of
from paycore.ledger import codes
from paycore.ledger.models import IntegrityReport
from paycore.payout.models import BalanceStatus, BalanceType
from paycore.payout.tracking import CHECK_LEASE_SECONDS
from paycore.reconciliation import repository
from paycore.reconciliation.build import build_reconciliation
from paycore.reconciliation.models import (
    RECONCILIATION_OWNER,
    Action,
    DayReceivable,
    Discrepancy,
    DiscrepancyFilter,
    Kind,
    Resolution,
    Run,
    Source,
)
from paycore.reconciliation.service import Reconciliation
from paycore.storage.raw import driver_of
from paycore.storage.reads import Cursor
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator, create_merchant
from tests.payout.support import DAY, PAID, Clock, PayoutShop, World
from tests.reconciliation.day import DayWriter, take_days

TRACKING_ROUNDS = 10
FUNDING = 5_000_000
"""What each shop of the bank desk has available to pay out (minor units)."""


@dataclass
class FakeClock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


@dataclass
class Desk:
    platform: Platform
    reconciliation: Reconciliation
    psp: PspSimulator
    writer: DayWriter
    merchants: list[str]
    clock: FakeClock | Clock
    registry: CollectorRegistry

    async def run(self, day: dt.date, source: Source = Source.PSP_SETTLEMENT) -> Run:
        """A run recorded as RunReconciliation records it, executed as the worker does."""
        async with self.reconciliation.home.begin() as connection:
            run = await self.reconciliation.request_run(connection, source, day)
        return await self.reconciliation.runs.execute(run)

    async def discrepancies(self, day: dt.date) -> list[Discrepancy]:
        page = await self.reconciliation.list_discrepancies(
            DiscrepancyFilter(day=day), Cursor(limit=100)
        )
        assert not page.has_more
        return sorted(page.data, key=lambda item: (item.kind.value, item.reference))

    async def receivables(
        self, day: dt.date, source: Source = Source.PSP_SETTLEMENT
    ) -> list[DayReceivable]:
        return await self.reconciliation.day_receivables(source, day)

    async def runs_of_day(self, day: dt.date) -> list[Run]:
        """The latest run of each source for `day`."""
        found = []
        async with self.reconciliation.home.connect() as connection:
            for source in Source:
                run = await repository.latest_run_of_day(
                    connection, RECONCILIATION_OWNER, source, day
                )
                if run is not None:
                    found.append(run)
        return found

    async def integrity(self) -> list[IntegrityReport]:
        return [await self.platform.ledger.check_integrity(m, "") for m in self.merchants]

    async def alter_report(self, alterations: list[dict[str, object]]) -> None:
        await self.psp.set_faults(settlement=alterations)

    def open_gauge(self, kind: str) -> float | None:
        return self.registry.get_sample_value(
            "paycore_reconciliation_open_discrepancies", {"kind": kind}
        )

    async def open_now(self) -> dict[str, float]:
        """The open discrepancies by kind on every shard, as the gauge shows them now: other
        tests' among them (the shared databases hold every test's data, and some leave theirs
        open), so a test checks what it adds to these."""
        await self.reconciliation.runs.refresh_metrics()
        return {kind.value: self.open_gauge(kind.value) or 0.0 for kind in Kind}

    def runs_finished(self, source: str, status: str) -> float:
        found = self.registry.get_sample_value(
            "paycore_reconciliation_runs_total", {"source": source, "status": status}
        )
        return found or 0.0


@pytest_asyncio.fixture
async def desk(
    platform: Platform, psp: PspSimulator, migrated: Settings, admin: object, target: str
) -> AsyncIterator[Desk]:
    merchants: dict[int, str] = {}
    physical = {engine: index for index, engine in enumerate(platform.shards.engines)}
    clients = []
    while len(merchants) < len(physical):
        created = await create_merchant(admin, target)  # type: ignore[arg-type]
        clients.append(created.client)
        merchant_id = created.merchant.id
        engine = platform.shards.engine_for_logical(logical_shard_of(merchant_id, Prefix.ACCOUNT))
        merchants.setdefault(physical[engine], merchant_id)
    clock = FakeClock()
    registry = CollectorRegistry()
    reconciliation = build_reconciliation(
        migrated.with_overrides(psp_url=psp.url),
        registry,
        platform.shards,
        platform.ledger,
        clock,
    )
    try:
        yield Desk(
            platform,
            reconciliation,
            psp,
            DayWriter(platform, psp.server.store),
            [merchants[index] for index in sorted(merchants)],
            clock,
            registry,
        )
    finally:
        for client in clients:
            await client.close()


@dataclass
class BankDesk:
    """A desk over the pay-out world: the platform's own reconciliation (the world's clock,
    its simulator's PSP and bank), a shop with money and a bank account on each physical shard,
    and `monday`, a week's Monday no other test uses, the clock at 09:00 on it."""

    desk: Desk
    world: World
    shops: list[PayoutShop]
    monday: dt.date

    async def at(self, day: dt.date, hour: float) -> None:
        """Moves the clock forward to `hour` of `day` and runs the pay-out jobs."""
        target = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        await self.world.advance((target + hour * 3600 - self.world.clock.now) / DAY)

    async def count(self, statement: str, *values: object) -> int:
        """A count(*) statement's answer summed over the shards."""
        total = 0
        for engine in self.world.platform.shards.engines:
            async with engine.connect() as connection:
                driver = await driver_of(connection)
                total += int(await driver.fetchval(statement, *values))
        return total

    async def caught_up(self, payout_ids: list[str]) -> None:
        """The tracking job again (past its lease) until paycore has none of `payout_ids` in
        flight: under load the bank may not answer a check in time, which is retried later."""
        for _ in range(TRACKING_ROUNDS):
            behind = await self.count(
                "SELECT count(*) FROM payouts WHERE id = ANY($1::text[])"
                " AND status IN ('pending', 'in_transit')",
                payout_ids,
            )
            if not behind:
                return
            await self.world.advance((CHECK_LEASE_SECONDS + 1) / DAY)
        pytest.fail(f"{behind} payouts still in flight after {TRACKING_ROUNDS} tracking rounds")

    async def resolve(self, discrepancy_id: str, action: Action) -> Discrepancy:
        """An operator's resolution of one discrepancy; the open gauges refreshed."""
        reconciliation = self.desk.reconciliation
        merchant_id = await reconciliation.owner_of(discrepancy_id)
        async with reconciliation.engine_of_discrepancy(discrepancy_id).begin() as connection:
            resolved = await reconciliation.resolve(
                connection, merchant_id, discrepancy_id, Resolution(action, f"{action} by a test")
            )
        await reconciliation.runs.refresh_metrics()
        return resolved

    async def instant(self, shop: PayoutShop, amount: int) -> str:
        return (await shop.payout(amount, instant=True)).id

    async def standard(self, shop: PayoutShop, amount: int) -> str:
        """A standard payout, sent to the bank at once (as the worker would after the lease)."""
        payout_id = (await shop.payout(amount)).id
        pay_out = self.world.platform.pay_out
        await pay_out.payouts.send(await pay_out.reads.payout(shop.id, payout_id))
        return payout_id


async def _fund(platform: Platform, merchant_id: str) -> None:
    """Money available to pay out, booked as the balance book books a payment (set up in bulk:
    tests/payout covers how payments become available)."""
    book = platform.pay_out.book
    async with platform.shards.transaction(merchant_id) as connection:
        accounts = await book.accounts(connection, merchant_id, "", "usd")
        transfer = book.transfer(
            merchant_id,
            codes.TRANSFER_PAYMENT,
            debit=accounts.psp_receivable,
            credit=accounts.available,
            amount=FUNDING,
            currency="usd",
            source="funding",
        )
        await book.post(connection, merchant_id, [transfer])
        row = book.row(
            merchant_id, "", transfer, BalanceType.PAYMENT, FUNDING, status=BalanceStatus.AVAILABLE
        )
        await book.record(connection, [row])


def unique_monday() -> dt.date:
    """A Monday whose week no other test of the session uses (tests.reconciliation.day's
    days included), in a range where the test cards (tests/customer/support.py, expiring
    12/2031) are valid on the simulator's clock and away from the pay-out tests' days
    (December 2026)."""
    first = dt.date(2027, 3, 1)  # a Monday
    while True:
        monday = first + dt.timedelta(weeks=random.randrange(230))
        if take_days(monday, 7):
            return monday


@pytest_asyncio.fixture
async def bank_desk(world: World) -> AsyncIterator[BankDesk]:
    monday = unique_monday()
    world.clock.now = dt.datetime(
        monday.year, monday.month, monday.day, 9, tzinfo=dt.UTC
    ).timestamp()
    platform = world.platform
    physical = {engine: index for index, engine in enumerate(platform.shards.engines)}
    shops: dict[int, PayoutShop] = {}
    spare: list[PayoutShop] = []
    while len(shops) < len(physical):
        shop = await world.shop()
        engine = platform.shards.engine_for_logical(logical_shard_of(shop.id, Prefix.ACCOUNT))
        if physical[engine] in shops:
            spare.append(shop)
        else:
            shops[physical[engine]] = shop
    ordered = [shops[index] for index in sorted(shops)]
    for shop in ordered:
        await _fund(platform, shop.id)
        await shop.bank_account(PAID)
    bank = BankDesk(
        Desk(
            platform,
            platform.reconciliation,
            world.psp,
            DayWriter(platform, world.psp.server.store),
            [shop.id for shop in ordered],
            world.clock,
            platform.metrics.registry,
        ),
        world,
        ordered,
        monday,
    )
    try:
        yield bank
    finally:
        for shop in [*ordered, *spare]:
            await shop.close()
