"""Reconciliation's operations for the servicer: runs (record, read), discrepancies (list
across shards, resolve). Changes receive their connection from Mutations; reads open their
own."""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass

from paycore.errors import invalid, not_found
from paycore.ids import MalformedId, Prefix, parse_id
from paycore.reconciliation import checks, repository
from paycore.reconciliation.models import (
    RECONCILIATION_OWNER,
    DayReceivable,
    Discrepancy,
    DiscrepancyFilter,
    Resolution,
    Run,
    Source,
)
from paycore.reconciliation.resolution import Resolver
from paycore.reconciliation.runs import Runs
from paycore.reconciliation.settlement import settled_merchants
from paycore.storage import Shards
from paycore.storage.raw import driver_of
from paycore.storage.reads import Cursor, Page, fetch_page
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True, slots=True)
class Reconciliation:
    _shards: Shards
    runs: Runs
    _resolver: Resolver

    @property
    def home(self) -> AsyncEngine:
        return self.runs.home

    def check_source(self, source: Source) -> None:
        """INVALID_ARGUMENT naming `source` when no report of that kind is configured."""
        if source not in self.runs.sources():
            raise invalid("source", f"no {source.value} report is configured")

    async def request_run(self, connection: AsyncConnection, source: Source, day: dt.date) -> Run:
        self.check_source(source)
        return await self.runs.request(connection, source, day)

    async def get_run(self, run_id: str) -> Run:
        async with self.home.connect() as connection:
            row = (
                await connection.execute(repository.run_by_id(RECONCILIATION_OWNER, run_id))
            ).first()
        if row is None:
            raise not_found("reconciliation_run", run_id, "id")
        return repository.decode_run(row)

    async def list_discrepancies(
        self, filters: DiscrepancyFilter, cursor: Cursor
    ) -> Page[Discrepancy]:
        """Newest first across every shard (or the merchant's), `limit` at most."""
        engines = (
            [self._shards.engine_for_merchant(filters.merchant_id)]
            if filters.merchant_id
            else list(self._shards.engines)
        )
        found: list[Discrepancy] = []
        more = False
        for engine in engines:
            async with engine.connect() as connection:
                page = await fetch_page(
                    connection,
                    repository.listed(filters),
                    repository.discrepancies_table(),
                    cursor,
                    repository.decode_discrepancy,
                )
            found.extend(page.data)
            more = more or page.has_more
        newest = heapq.nlargest(cursor.limit + 1, found, key=lambda item: item.id)
        return Page(newest[: cursor.limit], more or len(newest) > cursor.limit)

    async def day_receivables(self, source: Source, day: dt.date) -> list[DayReceivable]:
        """The settled-day figures (paycore.reconciliation.checks) of every merchant the day
        settled, on every shard."""
        found: list[DayReceivable] = []
        for engine in self._shards.engines:
            async with engine.connect() as connection:
                driver = await driver_of(connection)
                merchants = await settled_merchants(driver, source, day)
                found.extend(
                    await checks.day_receivables(connection, driver, source, day, merchants)
                )
        return found

    def engine_of_discrepancy(self, discrepancy_id: str) -> AsyncEngine:
        try:
            logical = parse_id(discrepancy_id, Prefix.DISCREPANCY).logical_shard
        except MalformedId:
            raise not_found("discrepancy", discrepancy_id, "id") from None
        return self._shards.engine_for_logical(logical)

    async def owner_of(self, discrepancy_id: str) -> str:
        """The merchant (or "platform") a discrepancy belongs to: its idempotency keys' owner."""
        async with self.engine_of_discrepancy(discrepancy_id).connect() as connection:
            row = (await connection.execute(repository.owner_by_id(discrepancy_id))).first()
        if row is None:
            raise not_found("discrepancy", discrepancy_id, "id")
        return str(row.merchant_id)

    async def resolve(
        self,
        connection: AsyncConnection,
        owner: str,
        discrepancy_id: str,
        resolution: Resolution,
    ) -> Discrepancy:
        found = await repository.locked_discrepancy(connection, owner, discrepancy_id)
        if found is None:
            raise not_found("discrepancy", discrepancy_id, "id")
        return await self._resolver.resolve(connection, found, resolution.action, resolution.note)
