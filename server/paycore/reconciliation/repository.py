"""Reconciliation's rows: runs and their parts (owned by RECONCILIATION_OWNER on the home
shard, or per shard for parts), discrepancies (on their merchant's shard). SQL over a
connection the caller gives; every method takes the owner (merchant) id first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from paycore.reconciliation.models import (
    Action,
    Discrepancy,
    DiscrepancyFilter,
    PartCounts,
    Run,
    RunStatus,
    Source,
    Status,
)
from paycore.storage.reads import matching
from paycore.storage.rows import Decoder
from paycore.storage.schema import (
    reconciliation_discrepancies as discrepancies,
)
from paycore.storage.schema import (
    reconciliation_run_parts as run_parts,
)
from paycore.storage.schema import (
    reconciliation_runs as runs,
)
from sqlalchemy import Select, Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

ATTEMPT_COUNT_MAX = 5
"""Runs of one reconciliation before it is marked failed (each after a worker died in it)."""


_AT = {"created": "created_at"}

decode_run: Decoder[Run] = Decoder(
    runs,
    Run,
    columns=_AT | {"finished": "finished_at"},
)
decode_discrepancy: Decoder[Discrepancy] = Decoder(
    discrepancies,
    Discrepancy,
    columns=_AT | {"resolved": "resolved_at"},
    convert={"action": lambda action: Action(action) if action else None},
)


# -- runs --------------------------------------------------------------------------------------


def run_by_id(owner: str, run_id: str) -> Select[Any]:
    return select(runs).where(runs.c.merchant_id == owner, runs.c.id == run_id)


async def insert_run(
    connection: AsyncConnection,
    owner: str,
    run_id: str,
    source: Source,
    day: dt.date,
    due_at: dt.datetime,
) -> Run:
    row = (
        await connection.execute(
            insert(runs)
            .values(
                merchant_id=owner,
                id=run_id,
                source=source.value,
                day=day,
                status=RunStatus.RUNNING.value,
                lease_until=due_at,
            )
            .returning(runs)
        )
    ).one()
    return decode_run(row)


async def latest_run_of_day(
    connection: AsyncConnection, owner: str, source: Source, day: dt.date
) -> Run | None:
    row = (
        await connection.execute(
            select(runs)
            .where(runs.c.merchant_id == owner, runs.c.source == source.value, runs.c.day == day)
            .order_by(runs.c.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else decode_run(row)


async def claim_due_run(
    connection: AsyncConnection, owner: str, now: dt.datetime, lease: dt.timedelta
) -> Run | None:
    """The oldest running run nobody owns (new, or its worker died): leased to the caller."""
    due = (
        select(runs.c.id)
        .where(
            runs.c.merchant_id == owner,
            runs.c.status == RunStatus.RUNNING.value,
            runs.c.lease_until <= now,
        )
        .order_by(runs.c.lease_until)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        await connection.execute(
            update(runs)
            .where(runs.c.merchant_id == owner, runs.c.id == due)
            .values(lease_until=now + lease, attempt_count=runs.c.attempt_count + 1)
            .returning(runs)
        )
    ).first()
    return None if row is None else decode_run(row)


async def finish_run(
    connection: AsyncConnection,
    owner: str,
    run_id: str,
    status: RunStatus,
    counts: PartCounts,
    failure_message: str = "",
) -> Run:
    row = (
        await connection.execute(
            update(runs)
            .where(runs.c.merchant_id == owner, runs.c.id == run_id)
            .values(
                status=status.value,
                record_count=counts.record_count,
                matched_count=counts.matched_count,
                discrepancy_count=counts.discrepancy_count,
                auto_resolved_count=counts.auto_resolved_count,
                failure_message=failure_message[:1000],
                finished_at=func.now(),
                lease_until=None,
            )
            .returning(runs)
        )
    ).one()
    return decode_run(row)


async def save_part(
    connection: AsyncConnection, owner: str, run_id: str, counts: PartCounts
) -> None:
    """This shard's part of the run, committed with its matching (a rerun overwrites it)."""
    values = {
        "record_count": counts.record_count,
        "matched_count": counts.matched_count,
        "discrepancy_count": counts.discrepancy_count,
        "auto_resolved_count": counts.auto_resolved_count,
    }
    statement = upsert(run_parts).values(merchant_id=owner, run_id=run_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(constraint="reconciliation_run_parts_pkey", set_=values)
    )


async def part_of(connection: AsyncConnection, owner: str, run_id: str) -> PartCounts | None:
    row = (
        await connection.execute(
            select(run_parts).where(run_parts.c.merchant_id == owner, run_parts.c.run_id == run_id)
        )
    ).first()
    if row is None:
        return None
    return PartCounts(
        row.record_count, row.matched_count, row.discrepancy_count, row.auto_resolved_count
    )


# -- discrepancies ----------------------------------------------------------------------------


def discrepancy_by_id(merchant_id: str, discrepancy_id: str) -> Select[Any]:
    return select(discrepancies).where(
        discrepancies.c.merchant_id == merchant_id, discrepancies.c.id == discrepancy_id
    )


def discrepancies_table() -> Table:
    return discrepancies


def owner_by_id(discrepancy_id: str) -> Select[Any]:
    """A discrepancy's owner, found by its id alone (the id routes to the shard)."""
    return select(discrepancies.c.merchant_id).where(discrepancies.c.id == discrepancy_id)


async def locked_discrepancy(
    connection: AsyncConnection, merchant_id: str, discrepancy_id: str
) -> Discrepancy | None:
    row = (
        await connection.execute(discrepancy_by_id(merchant_id, discrepancy_id).with_for_update())
    ).first()
    return None if row is None else decode_discrepancy(row)


def listed(filters: DiscrepancyFilter) -> Select[Any]:
    """Discrepancies matching `filters` (on whichever shard the caller reads)."""
    return matching(discrepancies, filters)


async def mark_resolved(
    connection: AsyncConnection,
    merchant_id: str,
    discrepancy_id: str,
    action: Action,
    note: str,
    transfer_ids: Sequence[str],
) -> Discrepancy:
    row = (
        await connection.execute(
            update(discrepancies)
            .where(
                discrepancies.c.merchant_id == merchant_id,
                discrepancies.c.id == discrepancy_id,
            )
            .values(
                status=Status.RESOLVED.value,
                action=action.value,
                note=note,
                ledger_transfer_ids=list(transfer_ids),
                resolved_at=func.now(),
            )
            .returning(discrepancies)
        )
    ).one()
    return decode_discrepancy(row)


async def open_counts_by_kind(connection: AsyncConnection) -> dict[str, int]:
    """Open discrepancies by kind on this shard (every merchant: the operators' metric)."""
    rows = (
        await connection.execute(
            select(discrepancies.c.kind, func.count())
            .where(discrepancies.c.status == Status.OPEN.value)
            .group_by(discrepancies.c.kind)
        )
    ).all()
    return {kind: count for kind, count in rows}


async def auto_resolved_count(
    connection: AsyncConnection, source: Source, day: dt.date, keys: Sequence[str]
) -> int:
    """Of the day's discrepancies with these keys (on this shard), those resolved
    automatically."""
    if not keys:
        return 0
    count = (
        await connection.execute(
            select(func.count()).where(
                discrepancies.c.source == source.value,
                discrepancies.c.day == day,
                discrepancies.c.key.in_(list(keys)),
                discrepancies.c.action == Action.AUTO.value,
            )
        )
    ).scalar_one()
    return int(count)
