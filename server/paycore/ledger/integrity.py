"""CheckIntegrity on one shard: what must hold for the ledger to be right, recomputed from the
immutable entries. Each query is set-based and bounded (at most MISMATCHES_MAX rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paycore.ledger.models import Balances, IntegrityReport, Mismatch, MismatchKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MISMATCHES_MAX = 1000
_BALANCE_FIELDS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")

_FILTER = (
    "(CAST(:merchant AS text) = '' OR {t}.merchant_id = :merchant)"
    " AND (CAST(:currency AS text) = '' OR {t}.currency = :currency)"
)

_TOTALS = f"""
SELECT currency, count(*), sum(debits_posted), sum(credits_posted), sum(debits_pending),
       sum(credits_pending)
FROM ledger_accounts a WHERE {_FILTER.format(t="a")} GROUP BY currency ORDER BY currency
"""
_TRANSFER_COUNT = f"SELECT count(*) FROM ledger_transfers t WHERE {_FILTER.format(t='t')}"
_RECOMPUTED = f"""
SELECT a.id, a.currency,
       a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.entry_count,
       coalesce(e.debits_posted, 0), coalesce(e.credits_posted, 0),
       coalesce(e.debits_pending, 0), coalesce(e.credits_pending, 0), coalesce(e.entry_count, 0)
FROM ledger_accounts a
LEFT JOIN (
  SELECT merchant_id, account_id,
         sum(posted_delta) FILTER (WHERE is_debit) AS debits_posted,
         sum(posted_delta) FILTER (WHERE NOT is_debit) AS credits_posted,
         sum(pending_delta) FILTER (WHERE is_debit) AS debits_pending,
         sum(pending_delta) FILTER (WHERE NOT is_debit) AS credits_pending,
         count(*) AS entry_count
  FROM ledger_entries e WHERE {_FILTER.format(t="e")}
  GROUP BY merchant_id, account_id
) e ON e.merchant_id = a.merchant_id AND e.account_id = a.id
WHERE {_FILTER.format(t="a")}
  AND (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.entry_count)
      IS DISTINCT FROM (coalesce(e.debits_posted, 0), coalesce(e.credits_posted, 0),
                        coalesce(e.debits_pending, 0), coalesce(e.credits_pending, 0),
                        coalesce(e.entry_count, 0))
ORDER BY a.id LIMIT {MISMATCHES_MAX}
"""
_UNBALANCED_TRANSFERS = f"""
SELECT transfer_id, currency,
       coalesce(sum(posted_delta) FILTER (WHERE is_debit), 0),
       coalesce(sum(posted_delta) FILTER (WHERE NOT is_debit), 0),
       coalesce(sum(pending_delta) FILTER (WHERE is_debit), 0),
       coalesce(sum(pending_delta) FILTER (WHERE NOT is_debit), 0),
       count(*) FILTER (WHERE is_debit), count(*) FILTER (WHERE NOT is_debit)
FROM ledger_entries e WHERE {_FILTER.format(t="e")}
GROUP BY merchant_id, transfer_id, kind, currency
HAVING coalesce(sum(posted_delta) FILTER (WHERE is_debit), 0)
         <> coalesce(sum(posted_delta) FILTER (WHERE NOT is_debit), 0)
    OR coalesce(sum(pending_delta) FILTER (WHERE is_debit), 0)
         <> coalesce(sum(pending_delta) FILTER (WHERE NOT is_debit), 0)
    OR count(*) FILTER (WHERE is_debit) <> 1 OR count(*) FILTER (WHERE NOT is_debit) <> 1
LIMIT {MISMATCHES_MAX}
"""
_OVERDUE = f"""
SELECT id, currency, amount, expires_at FROM ledger_transfers t
WHERE status = 'pending' AND expires_at <= :now AND {_FILTER.format(t="t")}
ORDER BY expires_at LIMIT {MISMATCHES_MAX}
"""


async def check_engines(
    engines: Sequence[AsyncEngine], checked: int, merchant_id: str = "", currency: str = ""
) -> IntegrityReport:
    """The whole check over `engines`: each shard from one REPEATABLE READ snapshot of its own,
    then the totals across them."""
    report = IntegrityReport(checked=checked)
    for engine in engines:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            await check_shard(connection, report, merchant_id, currency)
            await connection.rollback()
    check_totals(report)
    return report


async def check_shard(
    connection: AsyncConnection, report: IntegrityReport, merchant_id: str, currency: str
) -> None:
    """Adds one shard's totals and mismatches to `report`; `connection` should hold one
    REPEATABLE READ snapshot so that the queries agree with each other."""
    parameters: dict[str, Any] = {"merchant": merchant_id, "currency": currency}
    for row in (await connection.execute(text(_TOTALS), parameters)).all():
        code, count, *sums = row
        report.account_count += count
        previous = report.currencies.get(code, Balances())
        report.currencies[code] = Balances(
            *(
                int(before) + int(value)
                for before, value in zip(_values(previous), sums, strict=True)
            )
        )
    report.transfer_count += (
        await connection.execute(text(_TRANSFER_COUNT), parameters)
    ).scalar_one()
    for row in (await connection.execute(text(_RECOMPUTED), parameters)).all():
        account_id, code = row[0], row[1]
        stored, recomputed = row[2:7], row[7:12]
        for name, found, expected in zip(
            (*_BALANCE_FIELDS, "entry_count"), stored, recomputed, strict=True
        ):
            if found != expected:
                report.mismatches.append(
                    Mismatch(
                        MismatchKind.BALANCE_DIFFERS,
                        code,
                        account_id=account_id,
                        field=name,
                        expected=int(expected),
                        actual=int(found),
                        message=f"stored {name} differs from the sum of the account's entries",
                    )
                )
    for row in (await connection.execute(text(_UNBALANCED_TRANSFERS), parameters)).all():
        transfer_id, code, debit_posted, credit_posted, debit_pending, credit_pending = row[:6]
        field, expected, actual = (
            ("posted", debit_posted, credit_posted)
            if debit_posted != credit_posted
            else ("pending", debit_pending, credit_pending)
        )
        report.mismatches.append(
            Mismatch(
                MismatchKind.TRANSFER_UNBALANCED,
                code,
                transfer_id=transfer_id,
                field=field,
                expected=int(expected),
                actual=int(actual),
                message=f"{row[6]} debit and {row[7]} credit entries that do not net to zero",
            )
        )
    overdue = await connection.execute(text(_OVERDUE), {**parameters, "now": report.checked})
    for transfer_id, code, amount, expires_at in overdue.all():
        report.mismatches.append(
            Mismatch(
                MismatchKind.PENDING_TRANSFER_OVERDUE,
                code,
                transfer_id=transfer_id,
                expected=0,
                actual=int(amount),
                message=f"expired at {expires_at} and still holds its amount",
            )
        )


def check_totals(report: IntegrityReport) -> None:
    """Summed over every account, debits equal credits in each currency."""
    for code, totals in sorted(report.currencies.items()):
        for side, debits, credits in (
            ("posted", totals.debits_posted, totals.credits_posted),
            ("pending", totals.debits_pending, totals.credits_pending),
        ):
            if debits != credits:
                report.mismatches.append(
                    Mismatch(
                        MismatchKind.CURRENCY_UNBALANCED,
                        code,
                        field=f"credits_{side}",
                        expected=debits,
                        actual=credits,
                        message=f"{side} debits and credits differ in {code}",
                    )
                )
    del report.mismatches[MISMATCHES_MAX:]


def _values(balances: Balances) -> tuple[int, int, int, int]:
    return (
        balances.debits_posted,
        balances.credits_posted,
        balances.debits_pending,
        balances.credits_pending,
    )
