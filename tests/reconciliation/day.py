"""A day of business written in bulk on both sides: paycore's records (payment intents,
their executions, refunds, and the ledger transfers pay-in books for them, through the ledger's
batch path) and the PSP simulator's (captured charges and refunds in its store), agreeing
line for line. Set-based SQL and batches instead of gRPC payments, so that a day of 10,000
items takes seconds; tests/payment covers the path that writes these records one by one."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from paycore.app import Platform
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.storage.raw import driver_of
from paycore.tools.psp.settlement import fee_of
from paycore.tools.psp.store import Charge as PspCharge
from paycore.tools.psp.store import Refund as PspRefund
from paycore.tools.psp.store import Store
from sqlalchemy.ext.asyncio import AsyncConnection

LEDGER_BATCH = 1000


@dataclass
class Refund:
    id: str
    psp_id: str
    amount: int
    at: dt.datetime


@dataclass
class Charge:
    merchant_id: str
    intent_id: str
    psp_id: str
    amount: int
    currency: str
    at: dt.datetime
    refunds: list[Refund] = field(default_factory=list)

    @property
    def fee(self) -> int:
        return fee_of(self.amount)


_DAYS_TAKEN: set[dt.date] = set()


def take_days(first: dt.date, length_days: int) -> bool:
    """Takes the `length_days` days from `first` for the calling test, with the day on either
    side (a run reads the day after its own); False, taking nothing, when another test of the
    session took one of them. The shared databases hold every test's data and a run reconciles
    everything paycore recorded on its day: a day drawn at random without this was another
    test's one run in a few dozen (about 30 tests draw from the same range, each also reading
    the next day)."""
    days = {first + dt.timedelta(days=offset) for offset in range(-1, length_days + 1)}
    if days & _DAYS_TAKEN:
        return False
    _DAYS_TAKEN.update(days)
    return True


def _untaken_day(first: dt.date, span_days: int) -> dt.date:
    while True:
        day = first + dt.timedelta(days=random.randrange(span_days))
        if take_days(day, 2):  # the day and the next
            return day


def unique_day() -> dt.date:
    """A day no other test of the session uses."""
    return _untaken_day(dt.date(2031, 1, 1), 100_000)


def unique_past_day() -> dt.date:
    """A day no other test of the session uses, ended long ago: a run recorded through a server
    on the real clock must be of a day that has ended (1990-01-01 to 2014-08-24)."""
    return _untaken_day(dt.date(1990, 1, 1), 9_000)


def at(day: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def psp_id() -> str:
    return "ch_" + new_id(Prefix.EXECUTION, 0)[4:]


def plan_day(
    merchants: list[str],
    day: dt.date,
    charge_count: int,
    refund_count: int,
    *,
    currency: str = "usd",
    seed: int = 7,
) -> list[Charge]:
    """`charge_count` charges spread over the day (none in its last hour, so that a missing
    one is missing_at_psp, not timing), `refund_count` of them partly refunded the same day."""
    rng = random.Random(seed)
    charges = []
    for index in range(charge_count):
        merchant_id = merchants[index % len(merchants)]
        shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
        charges.append(
            Charge(
                merchant_id=merchant_id,
                intent_id=new_id(Prefix.PAYMENT_INTENT, shard),
                psp_id=psp_id(),
                amount=rng.randrange(100, 100_000),
                currency=currency,
                at=at(day, rng.randrange(0, 70_000)),
            )
        )
    for charge in rng.sample(charges, refund_count):
        shard = logical_shard_of(charge.merchant_id, Prefix.ACCOUNT)
        charge.refunds.append(
            Refund(
                id=new_id(Prefix.REFUND, shard),
                psp_id="rf_" + psp_id()[3:],
                amount=rng.randrange(1, charge.amount + 1),
                at=charge.at + dt.timedelta(seconds=rng.randrange(1, 10_000)),
            )
        )
    return charges


_INTENTS = """
INSERT INTO payment_intents (merchant_id, id, amount, currency, status, capture_method,
  amount_received, amount_refunded, psp_charge, metadata, created_at)
SELECT m, i, a, c, 'succeeded', 'automatic', a, r, ch, '{}', t
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
            $7::timestamptz[]) AS x(m, i, a, c, r, ch, t)
"""
_EXECUTIONS = """
INSERT INTO executions (merchant_id, id, operation, payment_intent_id, refund_id, amount,
  currency, psp_charge, psp_key, state, attempt_count, psp_reference, metadata, created_at,
  updated_at)
SELECT m, e, op, i, r, a, c, nullif(pc, ''), e, st, 1, ref, '{}', t, t
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
  AS x(m, e, op, i, r, a, c, pc, st, ref, t)
"""
_REFUNDS = """
INSERT INTO refunds (merchant_id, id, payment_intent_id, amount, currency, reason, status,
  execution_id, metadata, created_at)
SELECT m, r, i, a, c, 'requested_by_customer', st, e, '{}', t
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
            $7::text[], $8::timestamptz[]) AS x(m, r, i, a, c, st, e, t)
"""


@dataclass
class Execution:
    merchant_id: str
    operation: str
    intent_id: str | None
    refund_id: str | None
    amount: int
    currency: str
    psp_charge: str
    state: str
    psp_reference: str
    at: dt.datetime


class DayWriter:
    """Writes planned days into paycore (SQL and the ledger) and the simulator's store."""

    def __init__(self, platform: Platform, store: Store) -> None:
        self.platform = platform
        self.store = store

    async def write(self, charges: list[Charge]) -> None:
        await self.paycore(charges)
        self.psp(charges)

    async def paycore(self, charges: list[Charge]) -> None:
        executions = []
        for charge in charges:
            executions.append(
                Execution(
                    charge.merchant_id,
                    "charge",
                    charge.intent_id,
                    None,
                    charge.amount,
                    charge.currency,
                    "",
                    "succeeded",
                    charge.psp_id,
                    charge.at,
                )
            )
            for refund in charge.refunds:
                executions.append(
                    Execution(
                        charge.merchant_id,
                        "refund",
                        charge.intent_id,
                        refund.id,
                        refund.amount,
                        charge.currency,
                        charge.psp_id,
                        "succeeded",
                        refund.psp_id,
                        refund.at,
                    )
                )
        await self.intents(charges, status="succeeded")
        await self.executions(executions)
        await self.refunds(
            [(charge, refund, "succeeded") for charge in charges for refund in charge.refunds]
        )
        await self.ledger(charges)

    async def intents(self, charges: list[Charge], *, status: str) -> None:
        for merchant_id, group in _by_merchant(charges).items():
            async with self.platform.shards.transaction(merchant_id) as connection:
                driver = await _driver(connection)
                await driver.execute(
                    _INTENTS.replace("'succeeded'", f"'{status}'"),
                    [c.merchant_id for c in group],
                    [c.intent_id for c in group],
                    [c.amount for c in group],
                    [c.currency for c in group],
                    [sum(r.amount for r in c.refunds) for c in group],
                    [
                        c.psp_id if status in ("succeeded", "requires_capture") else None
                        for c in group
                    ],
                    [c.at for c in group],
                )

    async def executions(self, executions: list[Execution]) -> None:
        by_merchant: dict[str, list[Execution]] = {}
        for execution in executions:
            by_merchant.setdefault(execution.merchant_id, []).append(execution)
        for merchant_id, group in by_merchant.items():
            shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
            async with self.platform.shards.transaction(merchant_id) as connection:
                driver = await _driver(connection)
                await driver.execute(
                    _EXECUTIONS,
                    [e.merchant_id for e in group],
                    [new_id(Prefix.EXECUTION, shard) for _ in group],
                    [e.operation for e in group],
                    [e.intent_id for e in group],
                    [e.refund_id for e in group],
                    [e.amount for e in group],
                    [e.currency for e in group],
                    [e.psp_charge for e in group],
                    [e.state for e in group],
                    [e.psp_reference for e in group],
                    [e.at for e in group],
                )

    async def refunds(self, refunds: list[tuple[Charge, Refund, str]]) -> None:
        by_merchant: dict[str, list[tuple[Charge, Refund, str]]] = {}
        for item in refunds:
            by_merchant.setdefault(item[0].merchant_id, []).append(item)
        for merchant_id, group in by_merchant.items():
            async with self.platform.shards.transaction(merchant_id) as connection:
                driver = await _driver(connection)
                await driver.execute(
                    _REFUNDS,
                    [c.merchant_id for c, _, _ in group],
                    [r.id for _, r, _ in group],
                    [c.intent_id for c, _, _ in group],
                    [r.amount for _, r, _ in group],
                    [c.currency for c, _, _ in group],
                    [status for *_, status in group],
                    [None for _ in group],
                    [r.at for _, r, _ in group],
                )

    async def ledger(self, charges: list[Charge]) -> None:
        """What pay-in's completion books (paycore.payment.money): the charge into the
        merchant's pending balance out of psp_receivable, the fee, each refund back."""
        for merchant_id, group in _by_merchant(charges).items():
            currencies = {charge.currency for charge in group}
            accounts = {}
            async with self.platform.shards.transaction(merchant_id) as connection:
                for currency in currencies:
                    found = await self.platform.ledger.merchant_accounts(
                        connection, merchant_id, currency
                    )
                    accounts[currency] = {code: account.id for code, account in found.items()}
            transfers = []
            for charge in group:
                ids = accounts[charge.currency]
                receivable = ids[codes.PSP_RECEIVABLE.code]
                pending = ids[codes.BALANCE_PENDING.code]
                transfers.append(
                    _transfer(
                        codes.TRANSFER_PAYMENT,
                        receivable,
                        pending,
                        charge.amount,
                        charge,
                        charge.intent_id,
                    )
                )
                transfers.append(
                    _transfer(
                        codes.TRANSFER_FEE,
                        pending,
                        ids[codes.FEES_REVENUE.code],
                        max(1, charge.amount // 50),
                        charge,
                        charge.intent_id,
                    )
                )
                for refund in charge.refunds:
                    transfers.append(
                        _transfer(
                            codes.TRANSFER_REFUND,
                            pending,
                            receivable,
                            refund.amount,
                            charge,
                            refund.id,
                        )
                    )
            for start in range(0, len(transfers), LEDGER_BATCH):
                batch = transfers[start : start + LEDGER_BATCH]
                outcomes = await self.platform.ledger.post([(batch, merchant_id)])
                failed = [o for o in outcomes[0] if not o.result.ok]
                assert not failed, failed

    def psp(self, charges: list[Charge]) -> None:
        """The simulator's store: each charge captured at its time, each refund made."""
        with self.store.transaction():
            for charge in charges:
                milliseconds = int(charge.at.timestamp() * 1000)
                self.store.insert_charge(
                    PspCharge(
                        id=charge.psp_id,
                        merchant=charge.merchant_id,
                        reference=charge.intent_id,
                        amount=charge.amount,
                        amount_captured=charge.amount,
                        amount_refunded=0,
                        currency=charge.currency,
                        status="captured",
                        decline_code="",
                        message="",
                        card_brand="visa",
                        card_last4="4242",
                        card_exp_month=12,
                        card_exp_year=2040,
                        card_fingerprint="f" * 32,
                        fee=charge.fee,
                        created_ms=milliseconds,
                        captured_ms=milliseconds,
                    )
                )
                for refund in charge.refunds:
                    added = self.store.add_refund(
                        PspRefund(
                            id=refund.psp_id,
                            charge=charge.psp_id,
                            amount=refund.amount,
                            currency=charge.currency,
                            status="succeeded",
                            created_ms=int(refund.at.timestamp() * 1000),
                        )
                    )
                    assert added


def _by_merchant(charges: list[Charge]) -> dict[str, list[Charge]]:
    grouped: dict[str, list[Charge]] = {}
    for charge in charges:
        grouped.setdefault(charge.merchant_id, []).append(charge)
    return grouped


async def _driver(connection: AsyncConnection) -> Any:
    return await driver_of(connection)


def _transfer(
    code: str, debit: str, credit: str, amount: int, charge: Charge, source: str
) -> TransferRequest:
    shard = logical_shard_of(charge.merchant_id, Prefix.ACCOUNT)
    return TransferRequest(
        id=new_id(Prefix.LEDGER_TRANSFER, shard),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        currency=charge.currency,
        code=code,
        metadata={"source": source},
    )
