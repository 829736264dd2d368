"""Reconciliation's fixtures: a desk with its own reconciliation (a fake clock, a fresh PSP
simulator, its own metrics registry) over the session's platform, and two merchants, one on
each physical shard."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest_asyncio
from paycore.app import Platform
from paycore.config import Settings
from paycore.ids import Prefix, logical_shard_of
from paycore.ledger.models import IntegrityReport
from paycore.reconciliation.build import build_reconciliation
from paycore.reconciliation.models import (
    DayReceivable,
    Discrepancy,
    DiscrepancyFilter,
    Run,
    Source,
)
from paycore.reconciliation.service import Reconciliation
from paycore.storage.reads import Cursor
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator, create_merchant
from tests.reconciliation.day import DayWriter


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
    clock: FakeClock
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

    async def receivables(self, day: dt.date) -> list[DayReceivable]:
        return await self.reconciliation.day_receivables(Source.PSP_SETTLEMENT, day)

    async def integrity(self) -> list[IntegrityReport]:
        return [await self.platform.ledger.check_integrity(m, "") for m in self.merchants]

    async def alter_report(self, alterations: list[dict[str, object]]) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.psp.url}/_control/faults",
                json={"settlement": alterations},
                headers={"Authorization": f"Bearer {self.psp.server.control_token}"},
            ) as response,
        ):
            assert response.status == 200, await response.text()

    def open_gauge(self, kind: str) -> float | None:
        return self.registry.get_sample_value(
            "paycore_reconciliation_open_discrepancies", {"kind": kind}
        )


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
