"""Pay-out's rows: balance transactions, bank accounts, payout schedules and payouts. SQL over a
connection it is given; every method takes the merchant id first and filters by it, except the
workers' claims, which drain a whole shard. Decoders (row -> dataclass) live here. Statements on
the hot paths (a payment's balance transaction, the availability job) are asyncpg text built
from the schema's columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from paycore.payout.models import (
    DELAY_DAYS_DEFAULT,
    MERCHANT,
    BalanceFilter,
    BalanceTransaction,
    BalanceType,
    BankAccount,
    BankAccountStatus,
    Payout,
    PayoutCard,
    PayoutFilter,
    Presentment,
    Schedule,
    Transfer,
    TransferFilter,
    TransferReversal,
)
from paycore.storage.locks import lock_until_commit
from paycore.storage.raw import driver_of
from paycore.storage.reads import Kind, children_of, matching, within
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import (
    application_fee_refunds,
    balance_transactions,
    bank_accounts,
    executions,
    payment_intents,
    payment_methods,
    payout_schedules,
    payouts,
    refunds,
    transfer_reversals,
    transfers,
)
from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

bt = balance_transactions
ba = bank_accounts
ps = payout_schedules
po = payouts

_BT_COLUMNS = [column.name for column in bt.c]
BALANCE_TRANSACTION_COLUMNS = tuple(_BT_COLUMNS)
_BT_TYPES = {
    "merchant_id": "text",
    "id": "text",
    "account": "text",
    "currency": "text",
    "amount": "bigint",
    "fee": "bigint",
    "net": "bigint",
    "type": "text",
    "status": "text",
    "available_on": "bigint",
    "source": "text",
    "description": "text",
    "ledger_transfer_id": "text",
    "payout_id": "text",
    "created": "bigint",
    "exchange_rate": "text",
    "presentment_amount": "bigint",
    "presentment_currency": "text",
    "conversion_fee": "bigint",
}
# Rows of one change in one statement. A null available_on means "by the account's delay": the
# start of the day of `created` plus the schedule's delay_days (default 2).
_INSERT_BALANCE_TRANSACTIONS = f"""
INSERT INTO {bt.name} ({", ".join(_BT_COLUMNS)})
SELECT {
    ", ".join(
        f"coalesce(u.available_on, (u.created / 86400) * 86400 + 86400 * coalesce(("
        f"SELECT s.{ps.c.delay_days.name} FROM {ps.name} s WHERE s.merchant_id = u.merchant_id"
        f" AND s.account = u.account), {DELAY_DAYS_DEFAULT}))"
        if name == "available_on"
        else f"u.{name}"
        for name in _BT_COLUMNS
    )
}
FROM unnest({
    ", ".join(f"${index + 1}::{_BT_TYPES[name]}[]" for index, name in enumerate(_BT_COLUMNS))
})
    AS u({", ".join(_BT_COLUMNS)})
RETURNING {bt.c.id.name}, {bt.c.available_on.name}
"""
_CLAIM_DUE_SELECT = f"""
SELECT {bt.c.merchant_id.name}, {bt.c.id.name}, {bt.c.account.name}, {bt.c.currency.name},
       {bt.c.net.name}, {bt.c.type.name}, {bt.c.source.name}
FROM {bt.name}
WHERE {bt.c.status.name} = 'pending' AND {bt.c.available_on.name} <= $1
  AND ($3 = '' OR {bt.c.merchant_id.name} = $3)
ORDER BY {bt.c.available_on.name}
LIMIT $2
"""
# $3: one merchant's rows, or "" for every merchant's (the due index serves both).
_CLAIM_DUE = _CLAIM_DUE_SELECT + "FOR UPDATE SKIP LOCKED\n"
"""The job's claim: rows another transaction is settling are left to it."""
_CLAIM_DUE_WAITING = _CLAIM_DUE_SELECT + "FOR UPDATE\n"
"""A request's claim for its merchant (a payout, a transfer, a balance read): it waits for a
settlement of those rows in flight (the job's, another request's) and then sees them settled.
Skipping them, it locked the balance before that settlement moved the funds and refused a
payout of funds that were there (BALANCE_INSUFFICIENT "0 usd"), or deadlocked with it on the
balance accounts. Every claimant takes the rows before any balance account, so this wait
closes no cycle (tests/payout/test_settling_race.py)."""
_ANY_DUE = f"""
SELECT EXISTS (
  SELECT 1 FROM {bt.name}
  WHERE {bt.c.merchant_id.name} = $1 AND {bt.c.status.name} = 'pending'
    AND {bt.c.available_on.name} <= $2
)
"""
_MARK_AVAILABLE = f"""
UPDATE {bt.name} SET {bt.c.status.name} = 'available'
FROM unnest($1::text[], $2::text[]) AS u(merchant_id, id)
WHERE {bt.name}.merchant_id = u.merchant_id AND {bt.name}.id = u.id
"""
_POSTPONE = f"""
UPDATE {bt.name} SET {bt.c.available_on.name} = {bt.c.available_on.name} + $3
FROM unnest($1::text[], $2::text[]) AS u(merchant_id, id)
WHERE {bt.name}.merchant_id = u.merchant_id AND {bt.name}.id = u.id
"""
_DEFER = f"""
UPDATE {bt.name} SET {bt.c.available_on.name} = u.available_on
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(merchant_id, id, available_on)
WHERE {bt.name}.merchant_id = u.merchant_id AND {bt.name}.id = u.id
"""
# The latest day a pending withdrawal (an adjustment taking money) of each (merchant, source)
# comes due, but for the rows claimed now.
_PENDING_WITHDRAWALS = f"""
SELECT b.merchant_id, b.source, max(b.available_on) AS available_on
FROM unnest($1::text[], $2::text[]) AS k(merchant_id, source)
JOIN {bt.name} b ON b.merchant_id = k.merchant_id AND b.source = k.source
WHERE b.status = 'pending' AND b.type = 'adjustment' AND b.net < 0 AND NOT b.id = ANY($3::text[])
GROUP BY b.merchant_id, b.source
"""


# The scheduler's batch (many merchants' accounts at once; keys are unnest()ed arrays).
_UNSWEPT_KEYS = f"""
SELECT DISTINCT b.merchant_id, b.account, b.currency
FROM unnest($1::text[], $2::text[]) AS k(merchant_id, account)
JOIN {bt.name} b ON b.merchant_id = k.merchant_id AND b.account = k.account
WHERE b.status = 'available' AND b.payout_id IS NULL
"""
_LOCK_UNSWEPT = f"""
SELECT b.merchant_id, b.account, b.currency, b.id, b.net
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(merchant_id, account, currency)
JOIN {bt.name} b
  ON b.merchant_id = k.merchant_id AND b.account = k.account AND b.currency = k.currency
WHERE b.status = 'available' AND b.payout_id IS NULL
FOR UPDATE OF b
"""
_ASSIGN = f"""
UPDATE {bt.name} SET {bt.c.payout_id.name} = u.payout_id
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(merchant_id, id, payout_id)
WHERE {bt.name}.merchant_id = u.merchant_id AND {bt.name}.id = u.id
"""
_DEFAULT_BANK_ACCOUNTS = f"""
SELECT a.merchant_id, a.account, a.currency, a.id, a.status
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(merchant_id, account, currency)
JOIN {ba.name} a ON a.merchant_id = k.merchant_id AND a.account = k.account
  AND a.currency = k.currency AND a.default_for_currency
"""
_PERIODS_TAKEN = f"""
SELECT p.merchant_id, p.account, p.currency
FROM unnest($1::text[], $2::text[], $3::text[], $4::date[])
  AS k(merchant_id, account, currency, period)
JOIN {po.name} p ON p.merchant_id = k.merchant_id AND p.account = k.account
  AND p.currency = k.currency AND p.period = k.period AND p.automatic
"""
_ADVANCE = f"""
UPDATE {ps.name} SET {ps.c.next_run_on.name} = u.next_run_on
FROM unnest($1::text[], $2::text[], $3::date[]) AS u(merchant_id, account, next_run_on)
WHERE {ps.name}.merchant_id = u.merchant_id AND {ps.name}.account = u.account
"""
_GET_PAYOUT = f"""
SELECT {", ".join(column.name for column in po.c)} FROM {po.name}
WHERE {po.c.merchant_id.name} = $1 AND {po.c.id.name} = $2
"""
_LOCK_PAYOUT = _GET_PAYOUT + "FOR UPDATE"
_UPDATED_COLUMNS = (
    po.c.status,
    po.c.arrival_date,
    po.c.failure_balance_transaction,
    po.c.failure_code,
    po.c.failure_message,
    po.c.bank_reference,
    po.c.next_check_at,
)
_UPDATE_ASSIGNMENTS = ", ".join(
    f"{column.name} = ${index + 3}" for index, column in enumerate(_UPDATED_COLUMNS)
)
_UPDATE_PAYOUT = f"""
UPDATE {po.name} SET {_UPDATE_ASSIGNMENTS}
WHERE {po.c.merchant_id.name} = $1 AND {po.c.id.name} = $2
"""
_PAYOUT_DESTINATION = f"""
SELECT p.{po.c.destination.name} AS destination, b.{ba.c.id.name} AS bank_account,
       b.{ba.c.country.name}, b.{ba.c.routing_number.name}, b.{ba.c.number_sealed.name}
FROM {po.name} p
LEFT JOIN {ba.name} b ON b.merchant_id = p.merchant_id AND b.id = p.destination
WHERE p.merchant_id = $1 AND p.id = $2
"""
Key = tuple[str, str, str]
"""(merchant, account, currency)."""


def _columns(keys: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*keys, strict=True)] if keys else []


@dataclass(frozen=True, slots=True)
class BankDestination:
    id: str
    country: str
    routing_number: str
    number_sealed: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ScheduledBatch:
    """The payout scheduler's statements over many merchants at once (one shard)."""

    _connection: AsyncConnection

    async def unswept_keys(self, pairs: Sequence[tuple[str, str]]) -> list[Key]:
        if not pairs:
            return []
        driver = await driver_of(self._connection)
        records = await driver.fetch(_UNSWEPT_KEYS, *_columns(pairs))
        return sorted((r["merchant_id"], r["account"], r["currency"]) for r in records)

    async def default_bank_accounts(self, keys: Sequence[Key]) -> dict[Key, tuple[str, str]]:
        """Each key's default bank account: (id, status)."""
        if not keys:
            return {}
        driver = await driver_of(self._connection)
        records = await driver.fetch(_DEFAULT_BANK_ACCOUNTS, *_columns(keys))
        return {
            (r["merchant_id"], r["account"], r["currency"]): (r["id"], r["status"]) for r in records
        }

    async def lock_unswept(self, keys: Sequence[Key]) -> dict[Key, list[tuple[str, int]]]:
        driver = await driver_of(self._connection)
        found: dict[Key, list[tuple[str, int]]] = {key: [] for key in keys}
        if not keys:
            return found
        for r in await driver.fetch(_LOCK_UNSWEPT, *_columns(keys)):
            found[(r["merchant_id"], r["account"], r["currency"])].append((r["id"], int(r["net"])))
        return found

    async def periods_taken(self, keys: Sequence[Key], periods: Sequence[dt.date]) -> set[Key]:
        driver = await driver_of(self._connection)
        rows = [(*key, period) for key, period in zip(keys, periods, strict=True)]
        records = await driver.fetch(_PERIODS_TAKEN, *_columns(rows)) if rows else []
        return {(r["merchant_id"], r["account"], r["currency"]) for r in records}

    async def assign(self, assignments: Sequence[tuple[str, str, str]]) -> None:
        """(merchant, balance transaction, payout) triples."""
        if assignments:
            driver = await driver_of(self._connection)
            await driver.execute(_ASSIGN, *_columns(assignments))

    async def advance(self, advances: Sequence[tuple[str, str, dt.date | None]]) -> None:
        if advances:
            driver = await driver_of(self._connection)
            await driver.execute(_ADVANCE, *_columns(advances))

    async def insert_payouts(self, new: Sequence[Payout]) -> None:
        if new:
            await self._connection.execute(insert(po), [_payout_values(payout) for payout in new])


def _as_text(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


@dataclass(frozen=True, slots=True)
class BalanceTransactionRepository:
    _connection: AsyncConnection

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Writes the rows (a value per column; available_on None: by the account's delay);
        returns each id's available_on."""
        if not rows:
            return {}
        driver = await driver_of(self._connection)
        columns = [[_as_text(row[name]) for row in rows] for name in _BT_COLUMNS]
        found = await driver.fetch(_INSERT_BALANCE_TRANSACTIONS, *columns)
        return {record["id"]: int(record["available_on"]) for record in found}

    async def converted_payment(
        self, merchant_id: str, source: str, account: str | None
    ) -> BalanceTransaction | None:
        """Currencies (issue 19): the converted `payment` row of a charge (of `account`'s
        balance, or any when None); None when the charge was not converted."""
        query = select(bt).where(
            bt.c.merchant_id == merchant_id,
            bt.c.source == source,
            bt.c.type == BalanceType.PAYMENT.value,
            bt.c.exchange_rate != "",
        )
        if account is not None:
            query = query.where(bt.c.account == account)
        row = (await self._connection.execute(query.limit(1))).first()
        return None if row is None else decode_balance_transaction(row)

    async def moved_back(self, merchant_id: str, crossed: str, currency: str, source: str) -> int:
        """What the platform's balance got back, in `currency`, of the money `crossed` (the pi_
        of a destination charge's share, a tr_) passed on, net of the application fee given
        back since: its rows of the refunds' transfer reversals, the transfer's reversals and
        the fee's refunds (also those of `source`, the move being made, not yet recorded)."""
        undoing = (
            select(refunds.c.id)
            .where(refunds.c.merchant_id == merchant_id, refunds.c.payment_intent_id == crossed)
            .union_all(
                select(application_fee_refunds.c.id).where(
                    application_fee_refunds.c.merchant_id == merchant_id,
                    application_fee_refunds.c.payment_intent_id == crossed,
                ),
                select(transfer_reversals.c.id).where(
                    transfer_reversals.c.merchant_id == merchant_id,
                    transfer_reversals.c.transfer_id == crossed,
                ),
            )
        )
        kinds = (
            BalanceType.TRANSFER,
            BalanceType.TRANSFER_REVERSAL,
            BalanceType.APPLICATION_FEE_REFUND,
        )
        total = await self._connection.scalar(
            select(func.coalesce(func.sum(bt.c.amount), 0)).where(
                bt.c.merchant_id == merchant_id,
                bt.c.account == MERCHANT,
                bt.c.currency == currency,
                bt.c.type.in_([kind.value for kind in kinds]),
                (bt.c.source == source) | bt.c.source.in_(undoing),
            )
        )
        return int(total or 0)

    async def any_due(self, merchant_id: str, now: int) -> bool:
        """Whether one of the merchant's pending rows has come due (a read: no lock)."""
        driver = await driver_of(self._connection)
        return bool(await driver.fetchval(_ANY_DUE, merchant_id, now))

    async def claim_due(self, now: int, limit: int, merchant_id: str = "") -> list[DueRow]:
        """Pending rows whose day has come, locked for this transaction: every merchant's
        (the job's, SKIP LOCKED), or one merchant's, waiting for a transaction settling them."""
        driver = await driver_of(self._connection)
        claim = _CLAIM_DUE_WAITING if merchant_id else _CLAIM_DUE
        records = await driver.fetch(claim, now, limit, merchant_id)
        return [
            DueRow(
                r["merchant_id"],
                r["id"],
                r["account"],
                r["currency"],
                int(r["net"]),
                r["type"],
                r["source"],
            )
            for r in records
        ]

    async def mark_available(self, rows: Sequence[DueRow]) -> None:
        if rows:
            driver = await driver_of(self._connection)
            await driver.execute(
                _MARK_AVAILABLE, [row.merchant_id for row in rows], [row.id for row in rows]
            )

    async def pending_withdrawals(
        self, keys: Sequence[tuple[str, str]], claimed: Sequence[DueRow]
    ) -> dict[tuple[str, str], int]:
        """(merchant, source) -> the latest available_on of its pending withdrawals (adjustments
        with a negative net) that are not among `claimed`."""
        if not keys:
            return {}
        driver = await driver_of(self._connection)
        records = await driver.fetch(
            _PENDING_WITHDRAWALS,
            [merchant_id for merchant_id, _ in keys],
            [source for _, source in keys],
            [row.id for row in claimed],
        )
        return {(r["merchant_id"], r["source"]): int(r["available_on"]) for r in records}

    async def defer(self, rows: Sequence[tuple[DueRow, int]]) -> None:
        """Sets each row's available_on to the day given with it."""
        if rows:
            driver = await driver_of(self._connection)
            await driver.execute(
                _DEFER,
                [row.merchant_id for row, _ in rows],
                [row.id for row, _ in rows],
                [day for _, day in rows],
            )

    async def postpone(self, rows: Sequence[DueRow], seconds: int) -> None:
        if rows:
            driver = await driver_of(self._connection)
            await driver.execute(
                _POSTPONE, [row.merchant_id for row in rows], [row.id for row in rows], seconds
            )


def balance_transactions_query(merchant_id: str, wanted: BalanceFilter) -> Select[Any]:
    by_charge = wanted.source.startswith(CHARGE_PREFIX)
    query = matching(
        bt,
        merchant_id=merchant_id,
        type=wanted.type,
        currency=wanted.currency,
        source="" if by_charge else wanted.source,
        payout_id=wanted.payout_id,
    )
    if by_charge:  # Stripe's source of a charge's row: its ch_, whose row names its pi_ (pord_)
        query = query.where(bt.c.source.in_(_charge_owners(merchant_id, wanted.source)))
    return query.where(bt.c.account == wanted.account)  # "" too: the merchant's own


CHARGE_PREFIX = "ch_"
"""The PSP's charge ids (`ch_...`), which Stripe names as a balance transaction's source."""


def _charge_owners(merchant_id: str, charge_id: str) -> Select[Any]:
    """The pi_ (or a checkout's pord_) whose succeeded charge or authorization the PSP named
    `charge_id`: what its balance transactions name as their source (by the PSP reference's
    index, executions_psp_reference_idx)."""
    return select(
        func.coalesce(executions.c.payment_intent_id, executions.c.payment_order_id)
    ).where(
        executions.c.merchant_id == merchant_id,
        executions.c.psp_reference == charge_id,
        executions.c.operation.in_(("charge", "authorize")),
        executions.c.state == "succeeded",
    )


def _conversion_of(row: Mapping[str, Any]) -> Presentment | None:
    """Currencies (issue 19): what a converted row was in the buyer's currency."""
    if not row["exchange_rate"]:
        return None
    return Presentment(
        row["exchange_rate"],
        int(row["presentment_amount"]),
        row["presentment_currency"],
        int(row["conversion_fee"]),
    )


decode_balance_transaction: Decoder[BalanceTransaction] = Decoder(
    bt, BalanceTransaction, derive={"conversion": _conversion_of}
)
BALANCE_TRANSACTIONS = Kind("balance_transaction", bt, decode_balance_transaction)


@dataclass(frozen=True, slots=True)
class DueRow:
    merchant_id: str
    id: str
    account: str
    currency: str
    net: int
    type: str = ""
    source: str = ""


# -- bank accounts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BankAccountRepository:
    _connection: AsyncConnection

    async def insert(self, bank_account: BankAccount, sealed: bytes) -> None:
        if bank_account.default_for_currency:
            await self._connection.execute(
                update(ba)
                .where(
                    ba.c.merchant_id == bank_account.merchant_id,
                    ba.c.account == bank_account.account,
                    ba.c.currency == bank_account.currency,
                    ba.c.default_for_currency,
                )
                .values(default_for_currency=False)
            )
        await self._connection.execute(
            insert(ba).values(
                {**_encode_bank_account.mapping(bank_account), "number_sealed": sealed}
            )
        )

    async def lock_holder_currency(self, merchant_id: str, account: str, currency: str) -> None:
        """Until the transaction ends, the one create of the holder's bank accounts in
        `currency`: the next waits, then sees this one's row (the duplicate check, the
        default's change)."""
        await lock_until_commit(
            self._connection, f"bank_accounts:{merchant_id}:{account}:{currency}"
        )

    async def usable_with_fingerprint(
        self, merchant_id: str, account: str, currency: str, fingerprint: str
    ) -> BankAccount | None:
        """The holder's bank account in `currency` with this number, unless a failed payout
        errored it (its replacement may have the same number)."""
        return await self._holders_first(
            merchant_id,
            account,
            currency,
            ba.c.fingerprint == fingerprint,
            ba.c.status != BankAccountStatus.ERRORED.value,
        )

    async def default_for(
        self, merchant_id: str, account: str, currency: str
    ) -> BankAccount | None:
        return await self._holders_first(merchant_id, account, currency, ba.c.default_for_currency)

    async def _holders_first(
        self, merchant_id: str, account: str, currency: str, *conditions: ColumnElement[bool]
    ) -> BankAccount | None:
        """A bank account of the holder (`account`) in `currency` meeting `conditions`."""
        query = bank_accounts_query(merchant_id, account).where(ba.c.currency == currency)
        row = (await self._connection.execute(query.where(*conditions))).first()
        return None if row is None else decode_bank_account(row)

    async def get(self, merchant_id: str, bank_account_id: str) -> BankAccount | None:
        return await BANK_ACCOUNTS.fetch(self._connection, merchant_id, bank_account_id)

    async def destination_of_payout(
        self, merchant_id: str, payout_id: str
    ) -> tuple[str, BankDestination | None] | None:
        """A payout's destination id and, for a bank account, what the bank needs (sealed
        number included), in one statement; None without such a payout."""
        driver = await driver_of(self._connection)
        record = await driver.fetchrow(_PAYOUT_DESTINATION, merchant_id, payout_id)
        if record is None:
            return None
        if record["bank_account"] is None:
            return record["destination"], None
        return record["destination"], BankDestination(
            id=record["bank_account"],
            country=record["country"],
            routing_number=record["routing_number"],
            number_sealed=bytes(record["number_sealed"]),
        )

    async def set_status(
        self, merchant_id: str, bank_account_id: str, status: BankAccountStatus
    ) -> None:
        await self._connection.execute(
            update(ba)
            .where(ba.c.merchant_id == merchant_id, ba.c.id == bank_account_id)
            .values(status=status.value)
        )


def bank_accounts_query(merchant_id: str, account: str) -> Select[Any]:
    return select(ba).where(ba.c.merchant_id == merchant_id, ba.c.account == account)


decode_bank_account: Decoder[BankAccount] = Decoder(ba, BankAccount)
BANK_ACCOUNTS = Kind("bank_account", ba, decode_bank_account)
_encode_bank_account: Encoder[BankAccount] = Encoder(ba, BankAccount)


# -- payout cards: the payment methods registered as a payee's external account ------------------

pm = payment_methods
decode_payout_card: Decoder[PayoutCard] = Decoder(
    pm,
    PayoutCard,
    columns={
        "created": "created_at",
        "account": "payout_account",
        "currency": "payout_currency",
        "default_for_currency": "payout_default",
    },
)
PAYOUT_CARDS = Kind(
    "payout_card",
    pm,
    decode_payout_card,
    selected=select(*(column for column in pm.c if column.name != "number_sealed")).where(
        pm.c.payout_account.is_not(None)
    ),
)
"""A card that is no payee's external account is no payout card: not found as one."""


def payout_cards_query(merchant_id: str, account: str) -> Select[Any]:
    return PAYOUT_CARDS.of(merchant_id).where(pm.c.payout_account == account)


# -- payout schedules ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRepository:
    _connection: AsyncConnection

    async def get(self, merchant_id: str, account: str, *, lock: bool = False) -> Schedule:
        query = select(ps).where(ps.c.merchant_id == merchant_id, ps.c.account == account)
        if lock:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return Schedule(account=account) if row is None else decode_schedule(row)

    async def put(self, merchant_id: str, schedule: Schedule, now: int) -> None:
        values = {
            "interval": schedule.interval.value,
            "delay_days": schedule.delay_days,
            "weekly_anchor": schedule.weekly_anchor,
            "monthly_anchor": schedule.monthly_anchor,
            "minimum_amounts": schedule.minimum_amounts,
            "next_run_on": schedule.next_run_on,
            "updated": now,
        }
        statement = insert(ps).values(merchant_id=merchant_id, account=schedule.account, **values)
        await self._connection.execute(
            statement.on_conflict_do_update(constraint="payout_schedules_pkey", set_=values)
        )

    async def claim_due(self, today: dt.date, limit: int) -> list[tuple[str, Schedule]]:
        """(merchant, schedule) whose run day has come, locked (SKIP LOCKED)."""
        rows = await self._connection.execute(
            select(ps)
            .where(ps.c.next_run_on <= today)
            .order_by(ps.c.next_run_on)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row.merchant_id, decode_schedule(row)) for row in rows.all()]


def _amounts(stored: dict[str, Any]) -> dict[str, int]:
    return {key: int(value) for key, value in stored.items()}


decode_schedule: Decoder[Schedule] = Decoder(ps, Schedule, convert={"minimum_amounts": _amounts})


# -- payouts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayoutRepository:
    _connection: AsyncConnection

    async def insert(self, payout: Payout, next_check_at: int | None = None) -> bool:
        """False when an automatic payout of the same account, currency and period exists."""
        statement = insert(po).values(**_payout_values(payout, next_check_at))
        if payout.automatic:
            statement = statement.on_conflict_do_nothing(
                index_elements=["merchant_id", "account", "currency", "period"],
                index_where=po.c.automatic,
            )
        result = await self._connection.execute(statement)
        return bool(result.rowcount)

    async def get(self, merchant_id: str, payout_id: str, *, lock: bool = False) -> Payout | None:
        """(asyncpg: the executor's completion of every payout reads it locked.)"""
        driver = await driver_of(self._connection)
        record = await driver.fetchrow(
            _LOCK_PAYOUT if lock else _GET_PAYOUT, merchant_id, payout_id
        )
        return None if record is None else decode_payout(dict(record.items()))

    async def update(self, payout: Payout, next_check_at: int | None) -> None:
        driver = await driver_of(self._connection)
        await driver.execute(
            _UPDATE_PAYOUT,
            payout.merchant_id,
            payout.id,
            payout.status.value,
            payout.arrival_date,
            payout.failure_balance_transaction,
            payout.failure_code,
            payout.failure_message,
            payout.bank_reference,
            next_check_at,
        )

    async def set_reversed(self, payout: Payout) -> None:
        """ReversePayout's mark on the payout it reversed (`reversed_by`); the bank is no longer
        asked about it (the money came back by the reversal, not by a return)."""
        await self._connection.execute(
            update(po)
            .where(and_(po.c.merchant_id == payout.merchant_id, po.c.id == payout.id))
            .values(reversed_by=payout.reversed_by, next_check_at=None)
        )

    async def set_metadata(self, payout: Payout, metadata: Mapping[str, str]) -> None:
        """The metadata alone (UpdatePayout): `update`'s columns are the lifecycle's."""
        await self._connection.execute(
            update(po)
            .where(and_(po.c.merchant_id == payout.merchant_id, po.c.id == payout.id))
            .values(metadata=dict(metadata))
        )

    async def claim_checks(self, now: int, limit: int, lease_seconds: int) -> list[tuple[str, str]]:
        """(merchant, payout) whose bank status is due a look; each is leased (its next check
        moved `lease_seconds` on) so a concurrent run skips it."""
        due = (
            select(po.c.merchant_id, po.c.id)
            .where(po.c.next_check_at <= now)
            .order_by(po.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        rows = await self._connection.execute(
            update(po)
            .where(and_(po.c.merchant_id == due.c.merchant_id, po.c.id == due.c.id))
            .values(next_check_at=now + lease_seconds)
            .returning(po.c.merchant_id, po.c.id)
        )
        return [(row.merchant_id, row.id) for row in rows.all()]


_encode_payout: Encoder[Payout] = Encoder(po, Payout)


def _payout_values(payout: Payout, next_check_at: int | None = None) -> dict[str, Any]:
    return {**_encode_payout.mapping(payout), "next_check_at": next_check_at}


def payouts_query(merchant_id: str, wanted: PayoutFilter) -> Select[Any]:
    query = matching(
        po, merchant_id=merchant_id, status=wanted.status, destination=wanted.destination
    )
    return query.where(
        po.c.account == wanted.account,  # "" too: the merchant's own
        *within(po.c.arrival_date, wanted.arrival_date),
    )


decode_payout: Decoder[Payout] = Decoder(po, Payout)
PAYOUTS = Kind("payout", po, decode_payout)


# -- transfers (separate charges and transfers, docs/connect.md) -------------------------------

tr = transfers
trr = transfer_reversals


@dataclass(frozen=True)
class ChargeFunds:
    """Where a charge's money received by the merchant stands: its balance transaction's
    amount, currency, status and available_on."""

    amount: int
    currency: str
    status: str
    available_on: int


@dataclass(frozen=True, slots=True)
class TransferRepository:
    _connection: AsyncConnection

    async def insert(self, transfer: Transfer) -> None:
        await self._connection.execute(insert(tr).values(**_encode_transfer.mapping(transfer)))

    async def get(
        self, merchant_id: str, transfer_id: str, *, lock: bool = False
    ) -> Transfer | None:
        return await TRANSFERS.fetch(self._connection, merchant_id, transfer_id, lock=lock)

    async def set_reversed(self, transfer: Transfer) -> None:
        await self._connection.execute(
            update(tr)
            .where(and_(tr.c.merchant_id == transfer.merchant_id, tr.c.id == transfer.id))
            .values(amount_reversed=transfer.amount_reversed)
        )

    async def set_details(self, transfer: Transfer) -> None:
        """The description and metadata (UpdateTransfer)."""
        await self._connection.execute(
            update(tr)
            .where(and_(tr.c.merchant_id == transfer.merchant_id, tr.c.id == transfer.id))
            .values(description=transfer.description, metadata=dict(transfer.metadata))
        )

    async def set_reversal_metadata(self, reversal: TransferReversal) -> None:
        """A reversal's metadata (UpdateTransferReversal)."""
        await self._connection.execute(
            update(trr)
            .where(and_(trr.c.merchant_id == reversal.merchant_id, trr.c.id == reversal.id))
            .values(metadata=dict(reversal.metadata))
        )

    async def insert_reversal(self, reversal: TransferReversal) -> None:
        await self._connection.execute(insert(trr).values(**_encode_reversal.mapping(reversal)))

    async def reversal_transaction(self, merchant_id: str, reversal_id: str) -> str:
        """The platform's balance transaction of a reversal just moved (as reads find it)."""
        found = await self._connection.scalar(
            select(_reversal_transaction(merchant_id, reversal_id))
        )
        return str(found or "")

    async def transferred_from(self, merchant_id: str, source_transaction: str) -> int:
        """What the merchant's transfers following this charge took, in all."""
        total = await self._connection.scalar(
            select(func.coalesce(func.sum(tr.c.amount), 0)).where(
                tr.c.merchant_id == merchant_id, tr.c.source_transaction == source_transaction
            )
        )
        return int(total or 0)

    async def intent_of_charge(self, merchant_id: str, charge_id: str) -> str | None:
        """The pi_ whose succeeded charge (authorization) the PSP named `charge_id` (None: the
        merchant has none), as ListCharges finds a charge (paycore.payment.repository)."""
        found = await self._connection.execute(
            select(executions.c.payment_intent_id)
            .where(
                executions.c.merchant_id == merchant_id,
                executions.c.psp_reference == charge_id,
                executions.c.operation.in_(("charge", "authorize")),
                executions.c.state == "succeeded",
                executions.c.payment_intent_id.is_not(None),
            )
            .order_by(executions.c.id.desc())
            .limit(1)
        )
        intent_id = found.scalar_one_or_none()
        return None if intent_id is None else str(intent_id)

    async def charge_group(self, merchant_id: str, intent_id: str) -> str:
        """The transfer_group of the charge (its pi_) a transfer follows, given one first when
        it has none: `group_<pi>`, as Stripe names it (set only where it is still "", so the
        group a concurrent transfer gave it stands)."""
        pi = payment_intents
        made = f"group_{intent_id}"
        mine = and_(pi.c.merchant_id == merchant_id, pi.c.id == intent_id)
        await self._connection.execute(
            update(pi).where(mine, pi.c.transfer_group == "").values(transfer_group=made)
        )
        group = await self._connection.scalar(select(pi.c.transfer_group).where(mine))
        return str(group or made)

    async def charge_funds(self, merchant_id: str, charge: str) -> ChargeFunds | None:
        """The merchant's own `payment` balance transaction of the charge (None: it received
        nothing), locked: transfers following one charge take their turns."""
        row = (
            await self._connection.execute(
                select(bt.c.amount, bt.c.currency, bt.c.status, bt.c.available_on)
                .where(
                    bt.c.merchant_id == merchant_id,
                    bt.c.account == "",
                    bt.c.type == BalanceType.PAYMENT.value,
                    bt.c.source == charge,
                )
                .order_by(bt.c.id)
                .limit(1)
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        return ChargeFunds(int(row.amount), row.currency, row.status, int(row.available_on))


def transfers_query(merchant_id: str, wanted: TransferFilter) -> Select[Any]:
    return matching(tr, wanted, merchant_id=merchant_id)


_encode_transfer: Encoder[Transfer] = Encoder(tr, Transfer)


def _reversal_transaction(merchant_id: Any, reversal_id: Any) -> ScalarSelect[Any]:
    """The platform's (account "") first `transfer_reversal` balance transaction of a reversal:
    its Stripe `balance_transaction` (one that took from the seller's available and pending
    balance has two)."""
    return (
        select(bt.c.id)
        .where(
            bt.c.merchant_id == merchant_id,
            bt.c.source == reversal_id,
            bt.c.type == BalanceType.TRANSFER_REVERSAL.value,
            bt.c.account == MERCHANT,
        )
        .order_by(bt.c.id)
        .limit(1)
        .scalar_subquery()
    )


_encode_reversal: Encoder[TransferReversal] = Encoder(trr, TransferReversal)
decode_transfer: Decoder[Transfer] = Decoder(tr, Transfer, skip=("reversals",))
decode_reversal: Decoder[TransferReversal] = Decoder(
    trr,
    TransferReversal,
    derive={"balance_transaction": lambda row: row["balance_transaction"] or ""},
)
_reversals_select = select(
    trr, _reversal_transaction(trr.c.merchant_id, trr.c.id).label("balance_transaction")
)


async def _with_reversals(connection: AsyncConnection, found: list[Transfer]) -> list[Transfer]:
    """The transfers with their reversals, newest first (one statement for a page)."""
    by_transfer = await children_of(
        connection,
        _reversals_select.where(trr.c.merchant_id == found[0].merchant_id),
        trr,
        "transfer_id",
        (transfer.id for transfer in found),
        decode_reversal,
    )
    return [
        replace(transfer, reversals=tuple(by_transfer.get(transfer.id, ()))) for transfer in found
    ]


TRANSFERS = Kind("transfer", tr, decode_transfer, complete=_with_reversals)
TRANSFER_REVERSALS = Kind("transfer_reversal", trr, decode_reversal, selected=_reversals_select)


def transfer_reversals_query(merchant_id: str, transfer_id: str) -> Select[Any]:
    return TRANSFER_REVERSALS.of(merchant_id).where(trr.c.transfer_id == transfer_id)
