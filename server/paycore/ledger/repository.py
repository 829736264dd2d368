"""Ledger rows on one shard.

The hot path (locking and writing a batch) speaks to asyncpg directly, set-based: one
statement locks the transfers a batch names (and the overdue holds on its accounts), one locks
its accounts in id order, and one writes everything (new transfers, entries, balances, resolved
pending transfers) through data-modifying CTEs over `unnest` arrays; a large batch COPYs its new
transfers and entries first (see COPY_ENTRIES_MIN). A batch of a thousand transfers costs about
the same round trips as a batch of one.

Reads use SQLAlchemy Core. Transfers and accounts are found by id (ids are unique and carry
their shard); methods that take a merchant filter by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from paycore.ledger.models import (
    Account,
    AccountType,
    Balances,
    Entry,
    EntryKind,
    NewAccount,
    Transfer,
    TransferKind,
    TransferStatus,
)
from paycore.ledger.posting import AccountState, NewEntry
from paycore.storage.raw import Driver as Driver  # re-exported: the ledger tests name it
from paycore.storage.raw import driver_of
from paycore.storage.reads import Cursor, Page, page_of, within
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import ledger_accounts, ledger_entries, ledger_transfers
from sqlalchemy import Row, Select, and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

_TRANSFER_COLUMNS = (
    "merchant_id, id, kind, debit_account_id, credit_account_id, amount, currency, pending_id, "
    "timeout_seconds, expires_at, code, metadata, status, resolved_by, created_at"
)
_LOCK_TRANSFERS = f"""
SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers
WHERE id = ANY($1::text[])
   OR (status = 'pending' AND expires_at <= $2
       AND (debit_account_id = ANY($3::text[]) OR credit_account_id = ANY($3::text[])))
ORDER BY id
FOR UPDATE
"""
_LOCK_ACCOUNTS = """
SELECT id, merchant_id, currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits,
       debits_posted, credits_posted, debits_pending, credits_pending, entry_count
FROM ledger_accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE
"""
_BY_CODES = """
SELECT * FROM ledger_accounts WHERE merchant_id = $1 AND currency = $2 AND code = ANY($3::text[])
"""
_OVERDUE = """
SELECT id, debit_account_id, credit_account_id FROM ledger_transfers
WHERE status = 'pending' AND expires_at <= $1
ORDER BY expires_at LIMIT $2
"""
# A batch with at least this many entries is written with binary COPY; fewer, in one statement
# over unnest arrays. asyncpg checks every element of an array parameter against collections.abc
# (two or three isinstance calls each): for 1,000 transfers (2,000 entries) the arrays cost 9.3 ms
# of Python and 23 ms until written, COPY 3.0 ms and 13 ms. COPY costs four more round trips
# (two per table), which a few transfers do not repay: one transfer cost 0.09 ms of Python in
# one statement, 0.19 ms with COPY; fifty, 0.51 ms and 0.33 ms.
COPY_ENTRIES_MIN = 32
_TRANSFER_COPY_COLUMNS = (
    "merchant_id",
    "id",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "pending_id",
    "timeout_seconds",
    "expires_at",
    "code",
    "metadata",
    "status",
    "resolved_by",
)


def _balances_and_resolutions(first: int) -> str:
    """The CTEs writing the accounts' balances and the resolved pending transfers, their
    parameters numbered from `first` (seven balance columns, then four resolution columns)."""
    n = [f"${number}" for number in range(first, first + 11)]
    return f"""balances AS (
  UPDATE ledger_accounts AS a
  SET debits_posted = u.dp, credits_posted = u.cp, debits_pending = u.dpe,
      credits_pending = u.cpe, entry_count = u.n
  FROM unnest({n[0]}::text[], {n[1]}::text[], {n[2]}::int8[], {n[3]}::int8[], {n[4]}::int8[],
              {n[5]}::int8[], {n[6]}::int8[]) AS u(m, id, dp, cp, dpe, cpe, n)
  WHERE a.merchant_id = u.m AND a.id = u.id
), resolutions AS (
  UPDATE ledger_transfers AS t SET status = u.s, resolved_by = nullif(u.r, '')
  FROM unnest({n[7]}::text[], {n[8]}::text[], {n[9]}::text[], {n[10]}::text[])
       AS u(m, id, s, r)
  WHERE t.merchant_id = u.m AND t.id = u.id
)
SELECT 1
"""


_WRITE = f"""
WITH new_transfers AS (
  INSERT INTO ledger_transfers (merchant_id, id, kind, debit_account_id, credit_account_id,
    amount, currency, pending_id, timeout_seconds, expires_at, code, metadata, status,
    resolved_by)
  SELECT m, i, k, d, c, a, cur, nullif(p, ''), t, e, code, md::jsonb, s, nullif(r, '')
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[],
              $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[], $12::text[],
              $13::text[], $14::text[])
       AS u(m, i, k, d, c, a, cur, p, t, e, code, md, s, r)
), new_entries AS (
  INSERT INTO ledger_entries (merchant_id, account_id, sequence, id, transfer_id, kind, is_debit,
    currency, code, posted_delta, pending_delta, debits_posted, credits_posted, debits_pending,
    credits_pending)
  SELECT * FROM unnest($15::text[], $16::text[], $17::int8[], $18::text[], $19::text[],
                       $20::text[], $21::bool[], $22::text[], $23::text[], $24::int8[],
                       $25::int8[], $26::int8[], $27::int8[], $28::int8[], $29::int8[])
), {_balances_and_resolutions(30)}"""
_UPDATE_AFTER_COPY = f"WITH {_balances_and_resolutions(1)}"


async def lock_transfers(
    driver: Driver, transfer_ids: Sequence[str], account_ids: Sequence[str], now: int
) -> dict[str, Transfer]:
    rows = await driver.fetch(_LOCK_TRANSFERS, list(transfer_ids), now, list(account_ids))
    return {row["id"]: _transfer(row) for row in rows}


async def lock_accounts(driver: Driver, account_ids: Iterable[str]) -> dict[str, AccountState]:
    rows = await driver.fetch(_LOCK_ACCOUNTS, sorted(set(account_ids)))
    return {row["id"]: AccountState(*row) for row in rows}


async def overdue_transfers(driver: Driver, now: int, limit: int) -> list[tuple[str, str, str]]:
    rows = await driver.fetch(_OVERDUE, now, limit)
    return [(row[0], row[1], row[2]) for row in rows]


async def write_batch(
    driver: Driver,
    transfers: Sequence[Transfer],
    entries: Sequence[NewEntry],
    accounts: Sequence[AccountState],
    resolutions: Sequence[tuple[str, str, TransferStatus, str]],
) -> None:
    """Everything one batch changed: in one statement, or (COPY_ENTRIES_MIN entries or more)
    new rows by COPY and the rest in one statement. `resolutions` are (merchant, pending
    transfer, new status, resolved by) of transfers stored before this batch."""
    updates = [
        [a.merchant_id for a in accounts],
        [a.id for a in accounts],
        [a.debits_posted for a in accounts],
        [a.credits_posted for a in accounts],
        [a.debits_pending for a in accounts],
        [a.credits_pending for a in accounts],
        [a.entry_count for a in accounts],
        [r[0] for r in resolutions],
        [r[1] for r in resolutions],
        [r[2].value for r in resolutions],
        [r[3] for r in resolutions],
    ]
    if len(entries) >= COPY_ENTRIES_MIN:
        if transfers:  # none when the batch only expires holds
            transfer_rows = zip(*_transfer_columns(transfers, empty_as=None), strict=True)
            await driver.copy_records_to_table(
                "ledger_transfers", records=transfer_rows, columns=_TRANSFER_COPY_COLUMNS
            )
        entry_rows = zip(*_entry_columns(entries), strict=True)
        await driver.copy_records_to_table(
            "ledger_entries", records=entry_rows, columns=NewEntry._fields
        )
        await driver.execute(_UPDATE_AFTER_COPY, *updates)
    else:
        columns = [*_transfer_columns(transfers, empty_as=""), *_entry_columns(entries)]
        await driver.execute(_WRITE, *columns, *updates)


def _transfer_columns(transfers: Sequence[Transfer], empty_as: str | None) -> list[list[Any]]:
    """The new transfers' columns in _TRANSFER_COPY_COLUMNS' order; an empty pending_id or
    resolved_by is `empty_as` (COPY writes NULL as None, the statement turns '' into NULL)."""
    return [
        [t.merchant_id for t in transfers],
        [t.id for t in transfers],
        [t.kind.value for t in transfers],
        [t.debit_account_id for t in transfers],
        [t.credit_account_id for t in transfers],
        [t.amount for t in transfers],
        [t.currency for t in transfers],
        [t.pending_id or empty_as for t in transfers],
        [t.timeout_seconds for t in transfers],
        [t.expires_at for t in transfers],
        [t.code for t in transfers],
        [json.dumps(t.metadata) if t.metadata else "{}" for t in transfers],
        [t.status.value for t in transfers],
        [t.resolved_by or empty_as for t in transfers],
    ]


def _entry_columns(entries: Sequence[NewEntry]) -> list[list[Any]]:
    """The entries' columns, transposed in C (NewEntry is in column order)."""
    if not entries:
        return [[] for _ in NewEntry._fields]
    columns = [list(column) for column in zip(*entries, strict=True)]
    kind = NewEntry._fields.index("kind")
    columns[kind] = [entry_kind.value for entry_kind in columns[kind]]
    return columns


# -- accounts -------------------------------------------------------------------------------------


class AccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert_if_absent(self, account_id: str, new: NewAccount) -> Account:
        """The (merchant, code, currency) account: created with these terms unless it exists."""
        await self._connection.execute(
            insert(ledger_accounts)
            .values(id=account_id, **_encode_new_account.mapping(new))
            .on_conflict_do_nothing(index_elements=["merchant_id", "code", "currency"])
        )
        found = await self.by_codes(new.merchant_id, new.currency, [new.code])
        return found[new.code]

    async def by_codes(
        self, merchant_id: str, currency: str, codes: Sequence[str]
    ) -> dict[str, Account]:
        # Every pay-in transfer looks its accounts up: asyncpg.
        driver = await driver_of(self._connection)
        records = await driver.fetch(_BY_CODES, merchant_id, currency, list(codes))
        return {record["code"]: account_of(record) for record in records}

    async def of_merchant(self, merchant_id: str, codes: Sequence[str]) -> list[Account]:
        rows = (
            await self._connection.execute(
                select(ledger_accounts)
                .where(
                    ledger_accounts.c.merchant_id == merchant_id,
                    ledger_accounts.c.code.in_(codes),
                )
                .order_by(ledger_accounts.c.currency, ledger_accounts.c.code)
                .limit(1000)
            )
        ).all()
        return [account_of(row) for row in rows]


def accounts_query(
    merchant_id: str | None, account_id: str = "", code: str = "", currency: str = ""
) -> Select[Any]:
    """Ledger accounts (the merchant's when given: an operator acting for none reads any),
    narrowed to those of the other arguments that are given."""
    query = select(ledger_accounts)
    conditions = [
        (ledger_accounts.c.merchant_id, merchant_id),
        (ledger_accounts.c.id, account_id),
        (ledger_accounts.c.code, code),
        (ledger_accounts.c.currency, currency),
    ]
    for column, value in conditions:
        if value:
            query = query.where(column == value)
    return query


def transfer_query(merchant_id: str | None, transfer_id: str) -> Select[Any]:
    query = select(ledger_transfers).where(ledger_transfers.c.id == transfer_id)
    if merchant_id:
        query = query.where(ledger_transfers.c.merchant_id == merchant_id)
    return query


def transfer_of(row: Row[Any]) -> Transfer:
    return _transfer(row._mapping)


async def list_entries(
    connection: AsyncConnection, account: Account, cursor: Cursor
) -> Page[Entry]:
    """Newest first: in the order they were written (entry ids of one batch share a head, so
    the account's sequence orders them, not the id); an `ending_before` page read oldest first
    from its entry and turned round by `page_of`, as `newest_first` pages are."""
    table = ledger_entries
    mine = and_(table.c.merchant_id == account.merchant_id, table.c.account_id == account.id)
    query = select(table).where(mine, *within(table.c.created_at, cursor.created))
    if cursor.ending_before:
        before = select(table.c.sequence).where(mine, table.c.id == cursor.ending_before)
        query = query.where(table.c.sequence > before.scalar_subquery())
        query = query.order_by(table.c.sequence.asc())
    else:
        if cursor.starting_after:
            after = select(table.c.sequence).where(mine, table.c.id == cursor.starting_after)
            query = query.where(table.c.sequence < after.scalar_subquery())
        query = query.order_by(table.c.sequence.desc())
    query = query.limit(cursor.limit + 1)
    found = page_of((await connection.execute(query)).all(), cursor)
    return Page([_entry(row) for row in found.data], found.has_more)


def _metadata(stored: str | dict[str, str]) -> dict[str, str]:
    """JSONB as asyncpg returns it (text) or as SQLAlchemy does (a dict)."""
    return json.loads(stored) if isinstance(stored, str) else dict(stored)


def _or_empty(value: str | None) -> str:
    return value or ""


_encode_new_account = Encoder(
    ledger_accounts, NewAccount, convert={"type": lambda kind: kind.value}
)
_CREATED = {"created": "created_at"}
_transfer = Decoder(
    ledger_transfers,
    Transfer,
    columns=_CREATED,
    convert={
        "kind": TransferKind,
        "pending_id": _or_empty,
        "metadata": _metadata,
        "status": TransferStatus,
        "resolved_by": _or_empty,
    },
)


def _entry_amount(row: Any) -> int:
    """What an entry moves: its posted delta (posted, post_pending), else its pending one."""
    if EntryKind(row["kind"]) in (EntryKind.POSTED, EntryKind.POST_PENDING):
        return int(row["posted_delta"])
    return abs(int(row["pending_delta"]))


account_of = Decoder(
    ledger_accounts,
    Account,
    columns=_CREATED,
    convert={"type": AccountType, "metadata": dict},
    derive={"balances": Decoder(ledger_accounts, Balances)},
)
_entry = Decoder(
    ledger_entries,
    Entry,
    columns=_CREATED,
    convert={"kind": EntryKind},
    derive={"amount": _entry_amount, "balances": Decoder(ledger_entries, Balances)},
)
