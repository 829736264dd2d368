"""Disputes and the PSP feed's position on the merchant's (or the home) shard. SQLAlchemy Core:
disputes change a few times in their life, off every hot path."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from paycore.dispute.models import (
    Dispute,
    DisputeFilter,
)
from paycore.invariants import invariant
from paycore.payout.repository import decode_balance_transaction
from paycore.storage.reads import Kind, fetch_optional, matching
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import balance_transactions as bt
from paycore.storage.schema import dispute_feeds, disputes
from sqlalchemy import Select, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

d = disputes
FEED_OWNER = "platform"
"""The feed's position is the platform's, not a merchant's (kept on the home shard)."""

# The column `balance_transactions` holds the ids; the objects are read with the dispute.
_IDS_COLUMN = {"balance_transaction_ids": "balance_transactions"}
_OBJECTS = ("balance_transactions",)
decode_dispute: Decoder[Dispute] = Decoder(disputes, Dispute, columns=_IDS_COLUMN, skip=_OBJECTS)
encode_dispute: Encoder[Dispute] = Encoder(disputes, Dispute, columns=_IDS_COLUMN, skip=_OBJECTS)


async def with_balance_transactions(
    connection: AsyncConnection, found: list[Dispute]
) -> list[Dispute]:
    """The disputes with their balance transactions, in each dispute's order (one statement
    for a page): what a Get, a List and an event's snapshot render."""
    wanted = {txn for dispute in found for txn in dispute.balance_transaction_ids}
    if not wanted:
        return [replace(dispute, balance_transactions=()) for dispute in found]
    rows = await connection.execute(
        select(bt).where(bt.c.merchant_id == found[0].merchant_id, bt.c.id.in_(sorted(wanted)))
    )
    by_id = {row.id: decode_balance_transaction(row) for row in rows}
    return [
        replace(
            dispute,
            balance_transactions=tuple(
                by_id[txn] for txn in dispute.balance_transaction_ids if txn in by_id
            ),
        )
        for dispute in found
    ]


DISPUTES = Kind("dispute", disputes, decode_dispute, complete=with_balance_transactions)


def disputes_query(merchant_id: str, wanted: DisputeFilter) -> Select[Any]:
    return matching(d, wanted, merchant_id=merchant_id)


@dataclass(frozen=True, slots=True)
class DisputeRepository:
    _connection: AsyncConnection

    async def insert(self, dispute: Dispute) -> None:
        values = dict(zip(encode_dispute.columns, encode_dispute(dispute), strict=True))
        await self._connection.execute(insert(d).values(**values))

    async def get(self, merchant_id: str, dispute_id: str, *, lock: bool = False) -> Dispute | None:
        return await DISPUTES.fetch(self._connection, merchant_id, dispute_id, lock=lock)

    async def by_psp(self, merchant_id: str, psp_dispute: str) -> Dispute | None:
        """The dispute the PSP calls `psp_dispute`, locked."""
        query = select(d).where(d.c.merchant_id == merchant_id, d.c.psp_dispute == psp_dispute)
        return await fetch_optional(self._connection, query, decode_dispute, lock=True)

    async def save(self, dispute: Dispute) -> Dispute:
        """Writes every column of `dispute` (locked by the caller) and answers it."""
        values = dict(zip(encode_dispute.columns, encode_dispute(dispute), strict=True))
        changed = await self._connection.execute(
            update(d)
            .where(d.c.merchant_id == dispute.merchant_id, d.c.id == dispute.id)
            .values(**values)
        )
        invariant(changed.rowcount == 1, f"dispute {dispute.id} vanished")
        return dispute


async def claim_stale_calls(
    connection: AsyncConnection, before: int, now: int, limit: int
) -> list[tuple[str, str]]:
    """(merchant, dispute) of the calls to the PSP recorded before `before` and not answered,
    across the shard's merchants, taken up now (their time moves on: runs side by side skip
    them)."""
    stale = (
        select(d.c.merchant_id, d.c.id)
        .where(d.c.psp_action != "", d.c.psp_action_at < before)
        .order_by(d.c.psp_action_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("stale")
    )
    taken = await connection.execute(
        update(d)
        .where(d.c.merchant_id == stale.c.merchant_id, d.c.id == stale.c.id)
        .values(psp_action_at=now)
        .returning(d.c.merchant_id, d.c.id)
    )
    return [(row.merchant_id, row.id) for row in taken]


@dataclass(frozen=True, slots=True)
class FeedRepository:
    """The feed's position and its reader's lease (one row per feed, named by the PSP's URL,
    so that another PSP, or a new simulator, starts from its own beginning; home shard)."""

    _connection: AsyncConnection
    _name: str

    async def claim(self, now: int, lease_seconds: int) -> int | None:
        """The position, leased to this reader until now + lease_seconds; None while another
        reader holds it."""
        f = dispute_feeds
        await self._connection.execute(
            upsert(f)
            .values(merchant_id=FEED_OWNER, name=self._name, position=0, lease_until=0)
            .on_conflict_do_nothing()
        )
        claimed = await self._connection.execute(
            update(f)
            .where(f.c.merchant_id == FEED_OWNER, f.c.name == self._name, f.c.lease_until <= now)
            .values(lease_until=now + lease_seconds)
            .returning(f.c.position)
        )
        row = claimed.one_or_none()
        return None if row is None else int(row.position)

    async def advance(self, position: int) -> None:
        """Moves the position on and ends the lease."""
        f = dispute_feeds
        await self._connection.execute(
            update(f)
            .where(f.c.merchant_id == FEED_OWNER, f.c.name == self._name)
            .values(position=position, lease_until=0)
        )
