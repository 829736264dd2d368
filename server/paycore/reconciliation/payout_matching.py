"""Set-based matching of one shard's staged lines of the bank's payouts report against
paycore's payouts (paycore.payout) and their ledger transfers.

The report (paycore.tools.psp.bank) has a line per thing that happened to a payout that day:
`submitted`, `paid`, `failed`. Lines of one payout are taken together (`recon_bank_payouts`:
one row per bank payout, its last status of the day, the amount and currency of that line)
and compared with paycore's payout of that id (`recon_payouts`: the payouts the report names,
and the paid ones whose arrival falls on the day, which the report should name). Every
difference is a `payout_mismatch` with both sides' view; docs/reconciliation.md ("The bank's
payouts report") gives the cases, the CASE below tells them apart:

    unknown    the bank has a payout paycore does not (no po_ of that id, another bank payout
               for it, or one paycore canceled)
    amount     amounts or currencies differ
    paid       the bank paid it; paycore has it in transit (automatic: paycore marks it paid)
               or failed before it was paid, or failed by an operator's `adjust` because the
               bank had not reported it (a timing or missing discrepancy): queued, the money
               went out twice
    failed     the bank says failed; paycore has it in transit or paid (automatic: paycore
               fails it, the funds return to the balance)
    missing    paycore has a paid payout whose arrival is the day and the report lacks it:
               `timing` when the next day's report (so far) has a line of it, or when it
               arrived within the timing window of midnight (the bank's line may be on the
               neighbouring day, whose run closes it), else a mismatch

A payout the bank finished that day (paid or failed) and paycore agrees with settles to the
day in `reconciliation_items` (the day check reads it: its payouts_in_transit nets to zero).
"""

from __future__ import annotations

import logging

from paycore.reconciliation.matching import (
    PARSE_NEXT_LINES,
    STATEMENT_TIMEOUT_SECONDS,
    DayWindow,
    FoundDiscrepancy,
    Matched,
    Prepared,
    Steps,
    found_discrepancy,
    settle_items,
)
from paycore.reconciliation.models import Source
from paycore.storage.raw import Driver

log = logging.getLogger(__name__)

_PARSE = """
CREATE TEMPORARY TABLE recon_bank_payouts ON COMMIT DROP AS
SELECT DISTINCT ON (r.merchant_id, x.id)
       r.merchant_id, x.id AS reference, coalesce(x.reference, '') AS object_id, x.amount,
       x.currency, x.type AS status, coalesce(x.failure_code, '') AS failure_code,
       count(*) OVER (PARTITION BY r.merchant_id, x.id) AS line_count
FROM recon_raw r,
     json_to_record(convert_from(r.body, 'UTF8')::json)
       AS x(type text, id text, reference text, amount bigint, currency text,
            failure_code text, time timestamptz)
ORDER BY r.merchant_id, x.id, x.time DESC,
         CASE x.type WHEN 'failed' THEN 0 WHEN 'paid' THEN 1 ELSE 2 END, r.number DESC
"""

# paycore's payouts: those the report names, the paid ones due in it (arrival on the day, not
# settled by another day's report), and those the day's discrepancies name (a rerun finds
# them again, whatever their status now). `was_paid`: paid, or failed after it was paid (its
# failure's transfer came out of platform_cash: returned by the bank).
_PAYOUTS = """
CREATE TEMPORARY TABLE recon_payouts ON COMMIT DROP AS
WITH wanted AS (
  SELECT DISTINCT b.merchant_id, b.object_id AS id FROM recon_bank_payouts b
  WHERE b.object_id <> ''
  UNION
  SELECT p.merchant_id, p.id FROM payouts p
  LEFT JOIN reconciliation_items s
    ON s.merchant_id = p.merchant_id AND s.source = $1 AND s.reference = p.bank_reference
  WHERE p.status = 'paid' AND p.bank_reference <> ''
    AND p.arrival_date >= $2 AND p.arrival_date < $3 AND (s.day IS NULL OR s.day = $4)
  UNION
  SELECT d.merchant_id, d.object_id FROM reconciliation_discrepancies d
  WHERE d.source = $1 AND d.day = $4 AND d.kind = 'payout_mismatch' AND d.object_id <> ''
)
SELECT p.merchant_id, p.id, p.bank_reference, p.amount, p.currency, p.status, p.arrival_date,
       (p.arrival_date >= $2 AND p.arrival_date < $3 AND p.status = 'paid'
        AND (s.day IS NULL OR s.day = $4)) AS due,
       -- Found missing before, and failed since (paycore followed the bank): found again.
       EXISTS (SELECT 1 FROM reconciliation_discrepancies d
               WHERE d.merchant_id = p.merchant_id AND d.source = $1 AND d.day = $4
                 AND d.kind = 'payout_mismatch' AND d.object_id = p.id
                 AND d.reference = p.bank_reference AND d.psp_status = '') AS found_missing,
       s.day AS settled_day,
       (p.status = 'paid' OR (p.status = 'failed' AND EXISTS (
          SELECT 1 FROM balance_transactions bt
          JOIN ledger_transfers t ON t.merchant_id = bt.merchant_id AND t.id = bt.ledger_transfer_id
          JOIN ledger_accounts a ON a.merchant_id = t.merchant_id AND a.id = t.debit_account_id
          WHERE bt.merchant_id = p.merchant_id AND bt.id = p.failure_balance_transaction
            AND a.code = 'platform_cash'))) AS was_paid,
       -- Failed by an operator because the bank had not reported it (`adjust` of a missing
       -- or timing discrepancy, on any day): not returned by the bank, whatever was_paid says.
       (p.status = 'failed' AND EXISTS (
          SELECT 1 FROM reconciliation_discrepancies d
          WHERE d.merchant_id = p.merchant_id AND d.source = $1 AND d.object_id = p.id
            AND d.status = 'resolved' AND d.action = 'adjust' AND d.internal_status = 'paid'
            AND d.psp_status = '')) AS failed_unreported
FROM wanted w
JOIN payouts p ON p.merchant_id = w.merchant_id AND p.id = w.id
LEFT JOIN reconciliation_items s
  ON s.merchant_id = p.merchant_id AND s.source = $1 AND s.reference = p.bank_reference
"""

_RESULTS = """
CREATE TEMPORARY TABLE recon_payout_results ON COMMIT DROP AS
WITH joined AS (
  SELECT b.*, p.id AS payout_id, p.amount AS payout_amount, p.currency AS payout_currency,
         p.status AS payout_status, p.was_paid AND NOT p.failed_unreported AS was_paid,
         p.settled_day,
         (p.id IS NULL OR p.status = 'canceled'
          OR (p.bank_reference <> '' AND p.bank_reference <> b.reference)) AS unknown
  FROM recon_bank_payouts b
  LEFT JOIN recon_payouts p ON p.merchant_id = b.merchant_id AND p.id = b.object_id
), classified AS (
  SELECT j.*,
    CASE
      WHEN j.unknown THEN 'unknown'
      WHEN j.payout_amount <> j.amount OR j.payout_currency <> j.currency THEN 'amount'
      WHEN j.status = 'paid' AND NOT j.was_paid THEN 'paid'
      WHEN j.status = 'failed' AND j.payout_status <> 'failed' THEN 'failed'
      -- Found before and resolved since (paycore followed the bank): the same discrepancy.
      WHEN EXISTS (SELECT 1 FROM reconciliation_discrepancies d
                   WHERE d.merchant_id = j.merchant_id AND d.source = $2 AND d.day = $1
                     AND d.kind = 'payout_mismatch' AND d.reference = j.reference) THEN 'again'
      ELSE 'matched'
    END AS outcome
  FROM joined j
)
SELECT merchant_id, reference, line_count, failure_code, outcome,
       CASE WHEN outcome = 'matched' THEN 'matched' ELSE 'payout_mismatch' END AS kind,
       -- Settles the payout to the day: paycore has it, the bank finished it, they agree (or
       -- paycore follows the bank automatically).
       (NOT unknown AND status IN ('paid', 'failed')
        AND outcome IN ('matched', 'again', 'paid', 'failed')
        AND NOT (outcome = 'paid' AND payout_status <> 'in_transit')) AS settles_item,
       settled_day, coalesce(payout_id, '') AS object_id,
       array_remove(ARRAY[payout_id, reference], NULL) AS object_ids,
       CASE WHEN unknown AND payout_status IS DISTINCT FROM 'canceled' THEN 0
            ELSE payout_amount END AS internal_amount,
       CASE WHEN unknown AND payout_status IS DISTINCT FROM 'canceled' THEN ''
            ELSE payout_currency END AS internal_currency,
       CASE WHEN unknown AND payout_status IS DISTINCT FROM 'canceled' THEN ''
            WHEN was_paid AND payout_status = 'failed' THEN 'returned'
            ELSE payout_status END AS internal_status,
       amount AS psp_amount, currency AS psp_currency, status AS psp_status
FROM classified
UNION ALL
-- A paid payout the report lacks: timing when the next day's report (what the bank has
-- published of it: recon_next) has a line of it, or when paycore's arrival is within the
-- window of midnight ($3: from it before the day's end; $4: until it after the day's start),
-- as the bank's line may be on the neighbouring day; not settled here (that day's line
-- settles it).
SELECT p.merchant_id, p.bank_reference, 0, '', 'missing',
       CASE WHEN p.due AND (p.arrival_date >= $3 OR p.arrival_date < $4 OR EXISTS (
              SELECT 1 FROM recon_next n
              WHERE n.merchant_id = p.merchant_id AND n.reference = p.bank_reference))
            THEN 'timing' ELSE 'payout_mismatch' END,
       false,
       p.settled_day, p.id, ARRAY[p.id, p.bank_reference], p.amount, p.currency, 'paid',
       0, '', ''
FROM recon_payouts p
WHERE (p.due OR p.found_missing) AND NOT EXISTS (
  SELECT 1 FROM recon_bank_payouts b
  WHERE b.merchant_id = p.merchant_id AND b.object_id = p.id AND b.reference = p.bank_reference)
"""

_SETTLE_ITEMS = settle_items("recon_payout_results")

# The paid payouts due in the day's report that it lacks (few): the bank ids to look for in the
# next day's report.
_ABSENT = """
SELECT DISTINCT p.merchant_id, p.bank_reference AS reference FROM recon_payouts p
WHERE p.due AND NOT EXISTS (
  SELECT 1 FROM recon_bank_payouts b
  WHERE b.merchant_id = p.merchant_id AND b.object_id = p.id AND b.reference = p.bank_reference)
"""

# Payouts another day found `timing` (paycore's arrival and the bank's line on either side of
# midnight) that this report finished: they settle here, and that day's discrepancy closes with
# nothing booked.
_LATE_ARRIVALS = """
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = now(),
    note = 'reported in the ' || to_char($1::date, 'YYYY-MM-DD') || ' report'
FROM recon_payout_results r
WHERE d.source = $2 AND d.kind = 'timing' AND d.status = 'open' AND d.day <> $1
  AND r.settles_item AND d.merchant_id = r.merchant_id AND d.reference = r.reference
RETURNING d.merchant_id, d.id, d.day
"""

_COUNTS = """
SELECT (SELECT count(*) FROM recon_raw),
       coalesce(sum(line_count) FILTER (WHERE kind = 'matched'), 0)::bigint
FROM recon_payout_results
"""

_DISCREPANCIES = """
SELECT merchant_id, kind, 'payout' AS line_type, reference, 1 AS occurrence, object_id,
       object_ids, internal_amount, internal_currency, 0::bigint AS internal_fee,
       internal_status, psp_amount, psp_currency, 0::bigint AS psp_fee, psp_status,
       failure_code
FROM recon_payout_results WHERE kind <> 'matched' ORDER BY merchant_id, reference
"""


async def prepare(driver: Driver, source: Source, window: DayWindow) -> Prepared:
    """Parses the staged lines of the bank's report and reads paycore's payouts; the paid ones
    the report lacks are to be looked for in the next day's report (staged to recon_next_raw
    before `match`)."""
    steps = Steps(driver)
    await steps.execute("parse", _PARSE)
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    await steps.execute("payouts", _PAYOUTS, source.value, start, end, window.day)
    absent = await steps.fetch("absent", _ABSENT)
    return Prepared(steps, [], [(row["merchant_id"], row["reference"]) for row in absent])


async def match(
    driver: Driver,
    source: Source,
    run_id: str,
    window: DayWindow,
    prepared: Prepared,
) -> Matched:
    """Matches the staged lines of the bank's report against paycore's payouts (after
    `prepare`) and settles the agreed ones to the day."""
    steps = prepared.steps
    timeout = STATEMENT_TIMEOUT_SECONDS
    await steps.execute("next day", PARSE_NEXT_LINES)
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    timing_from = int(window.timing_from.timestamp())
    timing_until = start + (end - timing_from)
    await steps.execute("results", _RESULTS, window.day, source.value, timing_from, timing_until)
    await steps.execute("settle", _SETTLE_ITEMS, window.day, source.value)
    late = await steps.fetch("late arrivals", _LATE_ARRIVALS, window.day, source.value)
    record_count, matched_count = await driver.fetchrow(_COUNTS, timeout=timeout)
    log.info("matching %s: %s", run_id, steps)
    rows = await driver.fetch(_DISCREPANCIES, timeout=timeout)
    found: list[FoundDiscrepancy] = [found_discrepancy(row) for row in rows]
    return Matched(
        record_count,
        matched_count,
        found,
        [],
        failure_codes={row["reference"]: row["failure_code"] for row in rows},
        booked_late=[(row["merchant_id"], row["id"], row["day"]) for row in late],
    )
