"""The settled-day invariant: after a run, what the ledger holds in psp_receivable for a day's
items and the day's own transfers (settlement, resolutions) equals what the day's unresolved
discrepancies explain, per merchant and currency. After a clean run both are zero: the PSP paid
exactly what paycore booked.

The bank's payouts report has its own account: for the payouts the day's report finished (paid
or failed) and paycore agreed with, payouts_in_transit nets to zero (each payout went in and
came out once); a payout_mismatch's residual is cash (platform_cash), never in transit, so it
explains nothing here, nor does a payout's timing (it is settled to no day until the
neighbouring day's report finishes it)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.reconciliation.books import day_tag
from paycore.reconciliation.discrepancies import open_of_day
from paycore.reconciliation.matching import STATEMENT_TIMEOUT_SECONDS
from paycore.reconciliation.models import DayReceivable, Kind, Source
from paycore.storage.raw import Driver
from sqlalchemy.ext.asyncio import AsyncConnection

# A transfer belongs to the day when reconciliation tagged it with the day, or when its source
# (the pay-in object: intent, order, refund) is an item the day settled. A dispute has two
# items at most (`<du_...>:dispute`, `<du_...>:dispute_reversal`), each only its transfer of
# that code: its withdrawal and its reinstatement may settle on different days.
_LEDGER = """
WITH objects AS (
  SELECT DISTINCT merchant_id, object_id, split_part(reference, ':', 2) AS code
  FROM reconciliation_items
  WHERE source = $1 AND day = $2 AND merchant_id = ANY($3::text[])
), receivable AS (
  SELECT id, merchant_id, currency FROM ledger_accounts
  WHERE {accounts} AND merchant_id = ANY($3::text[])
)
SELECT a.merchant_id, a.currency,
       sum(CASE WHEN e.is_debit THEN e.posted_delta ELSE -e.posted_delta END)::bigint AS amount
FROM receivable a
JOIN ledger_entries e ON e.merchant_id = a.merchant_id AND e.account_id = a.id
JOIN ledger_transfers t ON t.merchant_id = e.merchant_id AND t.id = e.transfer_id
WHERE t.metadata->>'reconciliation' = $4
   -- Equalities only, so that the planner hashes `objects` once (a condition such as
   -- `o.code IN ('', t.code)` made it a subplan run per transfer: 100,000 lines took 50 s).
   -- Only a dispute's transfers have its codes, so a pay-in object's (code '') are all its.
   OR (t.merchant_id, t.metadata->>'source',
       CASE WHEN t.code IN ('dispute', 'dispute_reversal') THEN t.code ELSE '' END)
      IN (SELECT merchant_id, object_id, code FROM objects)
GROUP BY a.merchant_id, a.currency
"""
ACCOUNT_CHECKED = {
    Source.PSP_SETTLEMENT: codes.PSP_RECEIVABLE.code,
    Source.BANK_PAYOUTS: codes.PAYOUTS_IN_TRANSIT.code,
}
"""The account each source's day check reads (a seller's in-transit account is coded
`payouts_in_transit:acct_...`)."""
DAY_LEDGER = {
    Source.PSP_SETTLEMENT: _LEDGER.format(accounts=f"code = '{codes.PSP_RECEIVABLE.code}'"),
    Source.BANK_PAYOUTS: _LEDGER.format(
        accounts=f"(code = '{codes.PAYOUTS_IN_TRANSIT.code}'"
        f" OR starts_with(code, '{codes.PAYOUTS_IN_TRANSIT.code}:'))"
    ),
}
"""Each source's day check: what the day's settled objects and tags moved in its account, per
merchant and currency (tests/reconciliation/test_day_check_plan.py checks its plan's shape)."""
_KNOWN = "SELECT merchant_id FROM merchants WHERE merchant_id = ANY($1::text[])"


async def day_receivables(
    connection: AsyncConnection,
    driver: Driver,
    source: Source,
    day: dt.date,
    merchants: Sequence[str],
) -> list[DayReceivable]:
    known = [row["merchant_id"] for row in await driver.fetch(_KNOWN, list(merchants))]
    ledger: dict[tuple[str, str], int] = defaultdict(int)
    tag = day_tag(source.value, day)
    rows = await driver.fetch(
        DAY_LEDGER[source], source.value, day, known, tag, timeout=STATEMENT_TIMEOUT_SECONDS
    )
    for row in rows:
        ledger[(row["merchant_id"], row["currency"])] += row["amount"]
    explained: dict[tuple[str, str], int] = defaultdict(int)
    for discrepancy in await open_of_day(connection, source, day, known):
        # A payout's discrepancy (payout_mismatch, timing) is cash, never in transit.
        if discrepancy.kind is Kind.FEE_MISMATCH or discrepancy.source is Source.BANK_PAYOUTS:
            continue
        for currency, amount in discrepancy.receivable_residual().items():
            explained[(discrepancy.merchant_id, currency)] += amount
    return [
        DayReceivable(merchant, currency, ledger.get((merchant, currency), 0), amount)
        for merchant, currency in sorted(set(ledger) | set(explained))
        for amount in [explained.get((merchant, currency), 0)]
    ]


async def check_day(
    connection: AsyncConnection,
    driver: Driver,
    source: Source,
    day: dt.date,
    merchants: Sequence[str],
) -> None:
    """Raises InvariantViolation (the run's transaction then rolls back) when the day's
    psp_receivable holds anything its open discrepancies do not explain."""
    for found in await day_receivables(connection, driver, source, day, merchants):
        invariant(
            found.ledger_amount == found.open_residual,
            f"{ACCOUNT_CHECKED[source]} of {source.value} {day} for {found.merchant_id} in "
            f"{found.currency} holds "
            f"{found.ledger_amount}; its open discrepancies explain {found.open_residual}",
        )
