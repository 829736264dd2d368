"""Storing what matching found: each discrepancy once per (source, day, key), with its event;
a rerun of the day updates the run that last found it and creates nothing twice. New ones of
the kinds that resolve themselves are resolved at once, in the same transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paycore.events import Recorder
from paycore.ids import Prefix, new_id
from paycore.reconciliation import repository
from paycore.reconciliation.books import is_merchant, owner_logical_shard
from paycore.reconciliation.events import DISCREPANCY_CREATED
from paycore.reconciliation.matching import FoundDiscrepancy, found_discrepancy
from paycore.reconciliation.models import (
    RECONCILIATION_OWNER,
    Action,
    Discrepancy,
    Source,
    Status,
)
from paycore.reconciliation.resolution import AUTO_NOTES, REVERSED, Resolver, resolves_itself
from paycore.storage.raw import Driver
from paycore.storage.schema import reconciliation_discrepancies as table
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

_EXISTING = """
SELECT merchant_id, key FROM reconciliation_discrepancies
WHERE source = $1 AND day = $2 AND merchant_id = ANY($3::text[]) AND key = ANY($4::text[])
"""
_TOUCH = """
UPDATE reconciliation_discrepancies d SET run_id = $1,
  internal_amount = CASE WHEN d.status = 'open' THEN v.ia ELSE d.internal_amount END,
  internal_currency = CASE WHEN d.status = 'open' THEN v.ic ELSE d.internal_currency END,
  internal_fee = CASE WHEN d.status = 'open' THEN v.ifee ELSE d.internal_fee END,
  internal_status = CASE WHEN d.status = 'open' THEN v.ist ELSE d.internal_status END,
  psp_amount = CASE WHEN d.status = 'open' THEN v.pa ELSE d.psp_amount END,
  psp_currency = CASE WHEN d.status = 'open' THEN v.pc ELSE d.psp_currency END,
  psp_fee = CASE WHEN d.status = 'open' THEN v.pfee ELSE d.psp_fee END,
  psp_status = CASE WHEN d.status = 'open' THEN v.pst ELSE d.psp_status END
FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::text[],
            $10::bigint[], $11::text[], $12::bigint[], $13::text[])
  AS v(m, k, ia, ic, ifee, ist, pa, pc, pfee, pst)
WHERE d.source = $2 AND d.day = $3 AND d.merchant_id = v.m AND d.key = v.k
"""
"""A discrepancy found again: moved to the run; an open one shows both sides as they are now
(a corrected report, today's read again later), so that its residual explains what the day's
psp_receivable holds now. A resolved one keeps the view it was resolved on."""
_INSERT = """
INSERT INTO reconciliation_discrepancies (
  merchant_id, id, source, day, key, kind, status, run_id, line_type, object_id, object_ids,
  reference, internal_amount, internal_currency, internal_fee, internal_status, psp_amount,
  psp_currency, psp_fee, psp_status, ledger_transfer_ids)
SELECT m, i, $3, $4, k, kind, 'open', $5, lt, o, string_to_array(os, ' '), r, ia, ic, ifee,
       ist, pa, pc, pfee, pst, '{}'
FROM unnest($1::text[], $2::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
            $11::text[], $12::bigint[], $13::text[], $14::bigint[], $15::text[], $16::bigint[],
            $17::text[], $18::bigint[], $19::text[])
  AS new(m, i, k, kind, lt, o, os, r, ia, ic, ifee, ist, pa, pc, pfee, pst)
"""


# What a rerun of the day no longer finds (the day's report, or paycore, changed since: the PSP
# published the rest of the day or corrected its file) closes with nothing booked: an open one,
# and one an operator ignored, whose residual stood only while the difference did. An operator's
# other actions booked their transfers and stay as they are.
_UNFOUND = """
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = coalesce(d.resolved_at, now()),
    run_id = $3,
    note = CASE WHEN d.action = 'ignore' THEN 'ignored (' || d.note || '); ' ELSE '' END
           || 'not found again by ' || $3 || ': the report and paycore agree'
FROM (
  SELECT merchant_id, id, status FROM reconciliation_discrepancies o
  WHERE o.source = $1 AND o.day = $2 AND (o.status = 'open' OR o.action = 'ignore')
    AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS f(merchant_id, key)
                    WHERE f.merchant_id = o.merchant_id AND f.key = o.key)
  FOR UPDATE
) AS before
WHERE d.merchant_id = before.merchant_id AND d.id = before.id
RETURNING d.merchant_id, d.id, before.status AS was
"""


# A timing of the day before whose line the complete report of this day ($3) does not carry
# either (the line never came): missing_at_psp from now on (docs/reconciliation.md, "Across the
# cut-off"). Lines that carry it closed it already (matching's late arrivals); the NOT EXISTS
# also covers a line that arrived with another amount (this run's mismatch, which closed it).
_UNARRIVED = """
SELECT d.merchant_id, d.id, 'missing_at_psp' AS kind, 1 AS occurrence, d.line_type,
       d.reference, d.object_id, d.object_ids,
       d.internal_amount, d.internal_currency, d.internal_fee, d.internal_status,
       d.psp_amount, d.psp_currency, d.psp_fee, d.psp_status
FROM reconciliation_discrepancies d
WHERE d.source = $1 AND d.day = $2 AND d.kind = 'timing' AND d.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM recon_lines l
                  WHERE l.merchant_id = d.merchant_id AND l.reference = d.reference)
FOR UPDATE
"""
# A missing_at_psp of the item that an earlier run of the day closed with nothing booked (it was
# not found again then: the day run blind found the item timing instead): open again.
_REOPEN = """
UPDATE reconciliation_discrepancies d
SET status = 'open', action = '', note = '', resolved_at = NULL, run_id = $3
FROM unnest($4::text[], $5::text[]) AS f(merchant_id, key)
WHERE d.source = $1 AND d.day = $2 AND d.merchant_id = f.merchant_id AND d.key = f.key
  AND d.status = 'resolved' AND d.action = 'auto' AND cardinality(d.ledger_transfer_ids) = 0
"""
# The timings whose missing_at_psp is now open: closed, with nothing booked.
_CLOSE_UNARRIVED = """
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = now(),
    note = 'not in the ' || to_char($3::date, 'YYYY-MM-DD') || ' report: missing_at_psp since '
           || $4
FROM unnest($5::text[], $6::text[]) AS f(merchant_id, id)
WHERE d.merchant_id = f.merchant_id AND d.id = f.id AND d.status = 'open'
  AND EXISTS (SELECT 1 FROM reconciliation_discrepancies m
              WHERE m.merchant_id = d.merchant_id AND m.source = $1 AND m.day = $2
                AND m.key = 'missing_at_psp:' || d.reference || ':1' AND m.status = 'open')
RETURNING d.merchant_id, d.id
"""


@dataclass(frozen=True)
class Stored:
    created: list[Discrepancy]
    auto_resolved: list[Discrepancy]


def owner_of(merchant_id: str) -> str:
    """The row's owner: the merchant, or "platform" for a line naming no merchant paycore can
    route (a discrepancy on the home shard)."""
    return merchant_id if is_merchant(merchant_id) else RECONCILIATION_OWNER


@dataclass(frozen=True, slots=True)
class DiscrepancyBook:
    _resolver: Resolver
    _events: Recorder[Discrepancy]

    async def store(
        self,
        connection: AsyncConnection,
        driver: Driver,
        source: Source,
        day: dt.date,
        run_id: str,
        found: Sequence[FoundDiscrepancy],
        failure_codes: Mapping[str, str] | None = None,
    ) -> Stored:
        """`failure_codes`: the bank's failure code by payout reference (bank runs)."""
        if not found:
            return Stored([], [])
        owners = [owner_of(item.merchant_id) for item in found]
        keys = [item.key for item in found]
        existing = {
            (row["merchant_id"], row["key"])
            for row in await driver.fetch(_EXISTING, source.value, day, sorted(set(owners)), keys)
        }
        again = [
            (owner, item)
            for owner, item in zip(owners, found, strict=True)
            if (owner, item.key) in existing
        ]
        if again:
            await driver.execute(
                _TOUCH,
                run_id,
                source.value,
                day,
                [owner for owner, _ in again],
                [item.key for _, item in again],
                *_figures(again),
            )
        new = [
            (owner, item)
            for owner, item in zip(owners, found, strict=True)
            if (owner, item.key) not in existing
        ]
        if not new:
            return Stored([], [])
        ids = [new_id(Prefix.DISCREPANCY, owner_logical_shard(owner)) for owner, _ in new]
        await driver.execute(
            _INSERT,
            [owner for owner, _ in new],
            ids,
            source.value,
            day,
            run_id,
            [item.key for _, item in new],
            [item.kind.value for _, item in new],
            [item.line_type for _, item in new],
            [item.object_id for _, item in new],
            [" ".join(item.object_ids) for _, item in new],
            [item.reference for _, item in new],
            *_figures(new),
        )
        created = await _read(connection, ids)
        resolved = []
        for discrepancy in created:
            await self._events.record(connection, DISCREPANCY_CREATED, discrepancy)
            if resolves_itself(discrepancy):
                note = AUTO_NOTES[discrepancy.kind]
                failure_code = (failure_codes or {}).get(discrepancy.reference, "")
                resolved.append(
                    await self._resolver.resolve(
                        connection, discrepancy, Action.AUTO, note, failure_code
                    )
                )
        return Stored(created, resolved)

    async def turn_unarrived(
        self, connection: AsyncConnection, driver: Driver, source: Source, run_id: str, day: dt.date
    ) -> list[tuple[str, str]]:
        """On a run of `day` that read its complete report (the day has ended; its lines are in
        recon_lines): each open timing of the day before whose line the report lacks becomes
        that day's missing_at_psp, with the same view (so the same residual: the day before
        stays explained) and its `created` event; the timing closes, `auto`, nothing booked.
        The (merchant id, discrepancy id) of the timings closed (their `resolved` is due)."""
        before = day - dt.timedelta(days=1)
        rows = await driver.fetch(_UNARRIVED, source.value, before)
        if not rows:
            return []
        found = [found_discrepancy(row) for row in rows]
        owners = [owner_of(item.merchant_id) for item in found]
        keys = [item.key for item in found]
        await driver.execute(_REOPEN, source.value, before, run_id, owners, keys)
        await self.store(connection, driver, source, before, run_id, found)
        closed = await driver.fetch(
            _CLOSE_UNARRIVED,
            source.value,
            before,
            day,
            run_id,
            [row["merchant_id"] for row in rows],
            [row["id"] for row in rows],
        )
        if len(closed) < len(rows):
            # Its missing_at_psp was resolved with transfers by an operator, then reversed when a
            # blind rerun found the item timing: left to the operator (a new resolution's
            # transfer ids would be those it already booked and reversed).
            log.warning(
                "%d timing discrepancies of %s %s not turned into missing_at_psp: their "
                "missing_at_psp was resolved and reversed before",
                len(rows) - len(closed),
                source.value,
                before,
            )
        return [(row["merchant_id"], row["id"]) for row in closed]


@dataclass(frozen=True)
class Unfound:
    """The discrepancies a run closed because it did not find them again."""

    merchant_id: str
    id: str
    was_open: bool
    """Open until now (its `reconciliation.discrepancy.resolved` is due), or ignored."""


async def close_unfound(
    driver: Driver, source: Source, day: dt.date, run_id: str, found: Sequence[FoundDiscrepancy]
) -> list[Unfound]:
    """Closes the day's discrepancies on this shard that this run of the day did not find
    (_UNFOUND)."""
    rows = await driver.fetch(
        _UNFOUND,
        source.value,
        day,
        run_id,
        [owner_of(item.merchant_id) for item in found],
        [item.key for item in found],
    )
    return [Unfound(row["merchant_id"], row["id"], row["was"] == Status.OPEN.value) for row in rows]


async def resolved_unfound(
    connection: AsyncConnection, source: Source, day: dt.date, found: Sequence[FoundDiscrepancy]
) -> list[Discrepancy]:
    """The day's discrepancies on this shard that a resolution booked transfers for (an
    operator's adjust, write_off or refund_at_psp, or the automatic rule), not reversed yet,
    that this run of the day did not find again: locked, for Resolver.reverse."""
    rows = (
        await connection.execute(
            select(table)
            .where(
                table.c.source == source.value,
                table.c.day == day,
                table.c.status == Status.RESOLVED.value,
                table.c.action != Action.IGNORE.value,
                func.cardinality(table.c.ledger_transfer_ids) > 0,
                ~table.c.note.startswith(REVERSED, autoescape=True),
            )
            .order_by(table.c.merchant_id, table.c.id)
            .with_for_update()
        )
    ).all()
    again = {(owner_of(item.merchant_id), item.key) for item in found}
    return [
        repository.decode_discrepancy(row)
        for row in rows
        if (row.merchant_id, row.key) not in again
    ]


async def open_of_day(
    connection: AsyncConnection, source: Source, day: dt.date, merchants: Sequence[str]
) -> list[Discrepancy]:
    """The day's discrepancies whose residual still stands: open, or closed with `ignore`."""
    rows = (
        await connection.execute(
            select(table).where(
                table.c.source == source.value,
                table.c.day == day,
                table.c.merchant_id.in_(list(merchants)),
                (table.c.status == Status.OPEN.value) | (table.c.action == Action.IGNORE.value),
            )
        )
    ).all()
    return [repository.decode_discrepancy(row) for row in rows]


async def _read(connection: AsyncConnection, ids: Sequence[str]) -> list[Discrepancy]:
    rows = (
        await connection.execute(
            select(table).where(table.c.id.in_(list(ids))).order_by(table.c.id)
        )
    ).all()
    return [repository.decode_discrepancy(row) for row in rows]


_FIGURES = (
    "internal_amount",
    "internal_currency",
    "internal_fee",
    "internal_status",
    "psp_amount",
    "psp_currency",
    "psp_fee",
    "psp_status",
)


def _figures(pairs: Sequence[tuple[str, FoundDiscrepancy]]) -> list[list[object]]:
    """Both sides' figures of `pairs`' items, a column each, in _TOUCH's and _INSERT's order."""
    return [[getattr(item, name) for _, item in pairs] for name in _FIGURES]
