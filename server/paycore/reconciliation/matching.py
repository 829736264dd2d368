"""Set-based matching of one shard's staged report lines against paycore's own records.

Everything here runs inside the shard's transaction, in SQL over temporary tables (dropped at
commit): `recon_raw` (the report's lines as COPY streamed them), `recon_lines` (parsed),
`recon_items` (paycore's side: succeeded charges, captures and refunds of the day, and those the
report names), `recon_next_raw` and `recon_next` (the next day's lines that name an item the
day's report lacks: it crossed the cut-off, `timing`), `recon_results` (one row per line and
per unreported item: `matched` or the kind of discrepancy). Nothing is read row by row in
Python except the discrepancies themselves.

paycore's side comes from the executor's executions (the PSP operations and their answers),
with payment intents, payment orders and refunds for the statuses of what did not succeed, and
`reconciliation_items` for which day already settled an item. A dispute's money is two items at
most, matched by the PSP's dispute id and the line's type, which is the code of paycore's
transfer of it: the chargeback's withdrawal (`dispute`) and a won chargeback's reinstatement
(`dispute_reversal`); paycore's side is that ledger transfer into or out of psp_receivable
(paycore.dispute.money; a converted charge's too, whose other side is FX clearing). Its
reference is `<du_...>:<type>`, so that each movement is an item of its own. How each kind is
told apart is docs/reconciliation.md's table; the CASE below is that table. What paycore books
after a run found it missing (a late booking) settles to the day whose report carried it and
closes that day's open discrepancy (docs/reconciliation.md, "Late bookings").
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paycore.reconciliation.models import Compared, Kind, Source
from paycore.storage.raw import Driver

RAW_COLUMNS = ("number", "merchant_id", "body")
STATEMENT_TIMEOUT_SECONDS = 900
"""A run's statements work through a whole day (a million lines take seconds each): they get
this long, server and client side, instead of the pools' limits for request statements."""
log = logging.getLogger(__name__)

_CREATE_RAW = """
CREATE TEMPORARY TABLE recon_raw (number bigint, merchant_id text, body bytea) ON COMMIT DROP
"""
# The lines of the next day's report (as much of it as the PSP has published) that name an item
# this day's report lacks: the PSP moved it across the cut-off (docs/reconciliation.md, timing).
_CREATE_NEXT_RAW = """
CREATE TEMPORARY TABLE recon_next_raw (number bigint, merchant_id text, body bytea)
ON COMMIT DROP
"""

# The PSP's settlement report (paycore.tools.psp.settlement): one JSON object per line.
_PARSE_PSP_LINES = """
CREATE TEMPORARY TABLE recon_lines ON COMMIT DROP AS
SELECT r.number, r.merchant_id, x.type,
       CASE WHEN x.type IN ('dispute', 'dispute_reversal') THEN x.id || ':' || x.type
            ELSE x.id END AS reference,
       coalesce(x.charge, '') AS charge,
       coalesce(x.reference, '') AS object_id, x.amount, x.currency,
       coalesce(x.fee, 0) AS fee,
       CASE x.type WHEN 'refund' THEN 'succeeded' WHEN 'dispute' THEN 'funds_withdrawn'
                   WHEN 'dispute_reversal' THEN 'funds_reinstated' ELSE 'captured' END AS status,
       x.time AS occurred_at,
       row_number() OVER (PARTITION BY r.merchant_id, x.type, x.id ORDER BY r.number)
         AS occurrence
FROM recon_raw r,
     json_to_record(convert_from(r.body, 'UTF8')::json)
       AS x(type text, id text, charge text, reference text, amount bigint, currency text,
            fee bigint, time timestamptz)
"""

PARSE_NEXT_LINES = """
CREATE TEMPORARY TABLE recon_next ON COMMIT DROP AS
SELECT DISTINCT r.merchant_id, x.type,
       CASE WHEN x.type IN ('dispute', 'dispute_reversal') THEN x.id || ':' || x.type
            ELSE x.id END AS reference
FROM recon_next_raw r,
     json_to_record(convert_from(r.body, 'UTF8')::json) AS x(type text, id text)
"""

# paycore's items: each succeeded charge, capture and refund that the day recorded (a range
# of the succeeded-executions index), with the day that settled it so far, if any ...
_PAYCORE_ITEMS = """
CREATE TEMPORARY TABLE recon_items ON COMMIT DROP AS
SELECT e.merchant_id, CASE e.operation WHEN 'refund' THEN 'refund' ELSE 'charge' END AS type,
       e.psp_reference AS reference,
       coalesce(e.refund_id, e.payment_order_id, e.payment_intent_id) AS object_id,
       e.amount, e.currency, e.updated_at AS occurred_at, s.day AS settled_day
FROM executions e
LEFT JOIN reconciliation_items s
  ON s.merchant_id = e.merchant_id AND s.source = $1 AND s.reference = e.psp_reference
WHERE e.state = 'succeeded' AND e.operation IN ('charge', 'capture', 'refund')
  AND e.updated_at >= $2 AND e.updated_at < $3 AND e.psp_reference <> ''
UNION ALL
-- ... and each dispute's money moved that day: the transfer into or out of psp_receivable
-- (read through ledger_transfers_disputes_idx, whose condition is the code's IN below).
SELECT t.merchant_id, t.code, d.psp_dispute || ':' || t.code, d.id, t.amount, t.currency,
       t.created_at, s.day
FROM ledger_transfers t
JOIN disputes d ON d.merchant_id = t.merchant_id AND d.id = t.metadata->>'source'
LEFT JOIN reconciliation_items s
  ON s.merchant_id = t.merchant_id AND s.source = $1
 AND s.reference = d.psp_dispute || ':' || t.code
WHERE t.code IN ('dispute', 'dispute_reversal') AND t.status = 'posted'
  AND t.created_at >= $2 AND t.created_at < $3
  AND EXISTS (SELECT 1 FROM ledger_accounts a
              WHERE a.id IN (t.debit_account_id, t.credit_account_id)
                AND a.merchant_id = t.merchant_id AND a.code = 'psp_receivable')
"""
# ... and those of other days that the report names (few: found by their PSP reference).
_OTHER_DAYS_ITEMS = """
INSERT INTO recon_items
SELECT e.merchant_id, CASE e.operation WHEN 'refund' THEN 'refund' ELSE 'charge' END,
       e.psp_reference, coalesce(e.refund_id, e.payment_order_id, e.payment_intent_id),
       e.amount, e.currency, e.updated_at, s.day
FROM (SELECT DISTINCT l.merchant_id, l.reference FROM recon_lines l
      WHERE NOT EXISTS (SELECT 1 FROM recon_items i
                        WHERE i.merchant_id = l.merchant_id AND i.reference = l.reference)) l
JOIN executions e ON e.psp_reference = l.reference AND e.merchant_id = l.merchant_id
LEFT JOIN reconciliation_items s
  ON s.merchant_id = e.merchant_id AND s.source = $1 AND s.reference = e.psp_reference
WHERE e.psp_reference <> '' AND e.state = 'succeeded'
  AND e.operation IN ('charge', 'capture', 'refund')
  AND NOT (e.updated_at >= $2 AND e.updated_at < $3)
"""
# ... and dispute movements of other days that the report names (through the dispute: the
# merchant's transfers are scanned for its id, for these few lines only).
_OTHER_DAYS_DISPUTE_ITEMS = """
INSERT INTO recon_items
SELECT t.merchant_id, t.code, l.reference, d.id, t.amount, t.currency, t.created_at, s.day
FROM (SELECT DISTINCT l.merchant_id, l.type, l.reference FROM recon_lines l
      WHERE l.type IN ('dispute', 'dispute_reversal')
        AND NOT EXISTS (SELECT 1 FROM recon_items i
                        WHERE i.merchant_id = l.merchant_id AND i.reference = l.reference)) l
JOIN disputes d
  ON d.merchant_id = l.merchant_id AND d.psp_dispute = split_part(l.reference, ':', 1)
JOIN ledger_transfers t
  ON t.merchant_id = d.merchant_id AND t.metadata->>'source' = d.id AND t.code = l.type
LEFT JOIN reconciliation_items s
  ON s.merchant_id = t.merchant_id AND s.source = $1 AND s.reference = l.reference
WHERE t.status = 'posted' AND NOT (t.created_at >= $2 AND t.created_at < $3)
  AND EXISTS (SELECT 1 FROM ledger_accounts a
              WHERE a.id IN (t.debit_account_id, t.credit_account_id)
                AND a.merchant_id = t.merchant_id AND a.code = 'psp_receivable')
"""

# A line an earlier day's report carried that paycore lacked then (missing_in_paycore,
# status_mismatch, still open) and has booked since, today: the item settles to the day that
# reported it, whose discrepancy closes with nothing booked (the ledger holds paycore's
# movement once now, and the day's settlement already holds the PSP's). Only an item that
# agrees with the line (amount, currency); this report lacks it, so it is no discrepancy here.
_LATE_BOOKINGS = """
WITH unreported AS MATERIALIZED (
  -- The day's items that no line of this report names and no day settled (few).
  SELECT i.merchant_id, i.reference, i.object_id, i.amount, i.currency, i.occurred_at
  FROM recon_items i
  WHERE i.occurred_at >= $2 AND i.occurred_at < $3 AND i.settled_day IS NULL
    AND NOT EXISTS (SELECT 1 FROM recon_lines l
                    WHERE l.merchant_id = i.merchant_id AND l.reference = i.reference)
), late AS (
  SELECT DISTINCT ON (i.merchant_id, i.reference)
         i.merchant_id, i.reference, i.object_id, i.occurred_at, d.id, d.day
  FROM unreported i
  JOIN reconciliation_discrepancies d
    ON d.merchant_id = i.merchant_id AND d.source = $1 AND d.day < $4
   AND d.key IN ('missing_in_paycore:' || i.reference || ':1',
                 'status_mismatch:' || i.reference || ':1')
   AND d.status = 'open' AND d.psp_amount = i.amount AND d.psp_currency = i.currency
  ORDER BY i.merchant_id, i.reference, d.day
), settled AS (
  INSERT INTO reconciliation_items (merchant_id, source, reference, object_id, day)
  SELECT merchant_id, $1, reference, object_id, day FROM late
  ON CONFLICT (merchant_id, source, reference) DO UPDATE SET day = excluded.day
), staged AS (
  UPDATE recon_items i SET settled_day = late.day FROM late
  WHERE i.merchant_id = late.merchant_id AND i.reference = late.reference
)
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = now(),
    note = 'booked by paycore on ' || to_char(late.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
FROM late
WHERE d.merchant_id = late.merchant_id AND d.id = late.id
RETURNING d.merchant_id, d.id, d.day
"""

# paycore's items of the day that the report lacks and no other day settled (few): the
# references to look for in the next day's report. A superset of what _RESULTS reports
# missing_at_psp or timing (it leaves out a few more): only a filter.
_ABSENT = """
SELECT DISTINCT i.merchant_id, i.reference
FROM recon_items i
WHERE i.occurred_at >= $2 AND i.occurred_at < $3
  AND (i.settled_day IS NULL OR i.settled_day = $1)
  AND NOT EXISTS (
    SELECT 1 FROM recon_lines l
    WHERE l.merchant_id = i.merchant_id AND l.type = i.type AND l.reference = i.reference)
"""

_RESULTS = """
CREATE TEMPORARY TABLE recon_results ON COMMIT DROP AS
WITH joined AS MATERIALIZED (
  SELECT l.*, i.reference AS item_reference, i.object_id AS item_object, i.amount AS item_amount,
         i.currency AS item_currency, i.occurred_at AS booked_at, i.settled_day,
         CASE WHEN l.type = 'charge' THEN (l.amount * $6 + 5000) / 10000 ELSE 0 END
           AS contract_fee
  FROM recon_lines l
  LEFT JOIN recon_items i
    ON i.merchant_id = l.merchant_id AND i.type = l.type AND i.reference = l.reference
), absences AS MATERIALIZED (
  -- The day's lines whose absence an operator resolved (missing_in_paycore, status_mismatch;
  -- few): the day keeps the resolution, and what paycore booked since is an item of its own.
  SELECT d.merchant_id, d.reference, d.kind FROM reconciliation_discrepancies d
  WHERE d.source = $2 AND d.day = $1 AND d.status = 'resolved' AND d.action <> 'auto'
    AND d.kind IN ('missing_in_paycore', 'status_mismatch')
), unmatched AS MATERIALIZED (
  -- Lines paycore has no success for (few): what paycore knows of the object they name.
  SELECT j.number, authorized.payment_intent_id AS authorized_intent,
         coalesce(intent.status, paid_order.status, unfinished.status, dispute.status, '')
           AS object_status,
         coalesce(intent.id, paid_order.id, unfinished.id, dispute.id, '') AS found_object,
         coalesce(intent.psp_charge, paid_order.psp_reference, '') AS other_charge,
         unfinished.id IS NOT NULL AS refund_unfinished
  FROM joined j
  LEFT JOIN LATERAL (
    SELECT a.payment_intent_id FROM executions a
    WHERE j.type = 'charge' AND a.psp_reference = j.reference AND a.psp_reference <> ''
      AND a.merchant_id = j.merchant_id AND a.operation = 'authorize' AND a.state = 'succeeded'
    LIMIT 1
  ) authorized ON true
  LEFT JOIN payment_intents intent
    ON j.type = 'charge' AND intent.merchant_id = j.merchant_id AND intent.id = j.object_id
  LEFT JOIN payment_orders paid_order
    ON j.type = 'charge' AND paid_order.merchant_id = j.merchant_id
   AND paid_order.id = j.object_id
  LEFT JOIN LATERAL (
    SELECT r.id, r.status FROM refunds r
    WHERE j.type = 'refund' AND r.merchant_id = j.merchant_id
      AND (r.payment_intent_id = j.object_id OR r.payment_order_id = j.object_id)
      AND r.amount = j.amount AND r.status <> 'succeeded'
    ORDER BY r.id LIMIT 1
  ) unfinished ON true
  LEFT JOIN disputes dispute
    ON j.type IN ('dispute', 'dispute_reversal') AND dispute.merchant_id = j.merchant_id
   AND dispute.psp_dispute = split_part(j.reference, ':', 1)
  WHERE j.item_reference IS NULL
), classified AS (
  SELECT j.*, a.kind AS resolved_absence, u.authorized_intent,
         coalesce(u.object_status, '') AS object_status,
         coalesce(u.found_object, '') AS found_object,
         coalesce(u.other_charge, '') AS other_charge,
         -- The item was missing from an earlier day's report (timing or missing_at_psp, still
         -- open): this report carries it late, which settles it here.
         (j.settled_day IS NOT NULL AND j.settled_day < $1 AND EXISTS (
            SELECT 1 FROM reconciliation_discrepancies d
            WHERE d.merchant_id = j.merchant_id AND d.source = $2 AND d.day = j.settled_day
              AND d.reference = j.reference AND d.status = 'open'
              AND d.kind IN ('timing', 'missing_at_psp'))) AS late,
    CASE
      WHEN j.occurrence > 1 THEN 'duplicate'
      WHEN a.kind IS NOT NULL THEN a.kind
      WHEN j.item_reference IS NOT NULL AND j.settled_day IS NOT NULL AND j.settled_day <> $1
           AND NOT (j.settled_day < $1 AND EXISTS (
             SELECT 1 FROM reconciliation_discrepancies d
             WHERE d.merchant_id = j.merchant_id AND d.source = $2 AND d.day = j.settled_day
               AND d.reference = j.reference AND d.status = 'open'
               AND d.kind IN ('timing', 'missing_at_psp'))) THEN 'duplicate'
      WHEN j.item_reference IS NOT NULL AND j.item_currency <> j.currency
        THEN 'currency_mismatch'
      WHEN j.item_reference IS NOT NULL AND j.item_amount <> j.amount THEN 'amount_mismatch'
      WHEN j.item_reference IS NOT NULL AND j.fee <> j.contract_fee THEN 'fee_mismatch'
      WHEN j.item_reference IS NOT NULL THEN 'matched'
      WHEN u.authorized_intent IS NOT NULL THEN 'status_mismatch'
      WHEN j.type = 'charge' AND u.other_charge <> '' THEN 'duplicate'
      WHEN u.refund_unfinished THEN 'status_mismatch'
      ELSE 'missing_in_paycore'
    END AS kind
  FROM joined j LEFT JOIN unmatched u ON u.number = j.number
  LEFT JOIN absences a
    ON a.merchant_id = j.merchant_id AND a.reference = j.reference AND j.occurrence = 1
)
SELECT merchant_id, kind, type AS line_type, reference, occurrence, late, settled_day, booked_at,
       -- An item this report settles (a first occurrence that is not another day's, nor
       -- paycore's late booking of a line the operator had resolved).
       (item_reference IS NOT NULL AND kind <> 'duplicate' AND resolved_absence IS NULL)
         AS settles_item,
       CASE
         WHEN item_reference IS NOT NULL THEN item_object
         WHEN kind = 'status_mismatch' AND type = 'charge' THEN authorized_intent
         ELSE found_object
       END AS object_id,
       array_remove(ARRAY[
         CASE WHEN item_reference IS NOT NULL THEN item_object ELSE nullif(found_object, '') END,
         nullif(other_charge, ''), CASE WHEN kind = 'duplicate' THEN reference END
       ], NULL) AS object_ids,
       CASE WHEN kind = 'duplicate' OR item_reference IS NULL THEN 0 ELSE item_amount END
         AS internal_amount,
       CASE WHEN kind = 'duplicate' OR item_reference IS NULL THEN '' ELSE item_currency END
         AS internal_currency,
       contract_fee AS internal_fee,
       CASE
         WHEN item_reference IS NOT NULL THEN 'succeeded'
         WHEN kind = 'status_mismatch' AND type = 'charge' THEN 'requires_capture'
         ELSE object_status
       END AS internal_status,
       amount AS psp_amount, currency AS psp_currency, fee AS psp_fee, status AS psp_status
FROM classified
UNION ALL
-- paycore's items of the day that the report lacks: timing when the next day's report (what
-- the PSP has published of it) carries them, or when recorded within the window before
-- midnight (the next day's report should carry them), missing_at_psp otherwise. Not
-- one an earlier day's report carried and found missing (still open): a late booking that
-- _LATE_BOOKINGS did not settle there differs from the line, which that day's rerun tells.
-- One booked after an operator resolved its line's absence is booked twice (the resolution
-- and paycore's movement): missing_at_psp whenever it was recorded, even with its line here.
SELECT i.merchant_id,
       CASE WHEN (i.occurred_at >= $5 OR EXISTS (
                SELECT 1 FROM recon_next n
                WHERE n.merchant_id = i.merchant_id AND n.type = i.type
                  AND n.reference = i.reference)) AND NOT EXISTS (
              SELECT 1 FROM reconciliation_discrepancies d
              WHERE d.merchant_id = i.merchant_id AND d.source = $2 AND d.day <= $1
                AND d.key IN ('missing_in_paycore:' || i.reference || ':1',
                              'status_mismatch:' || i.reference || ':1')
                AND d.status = 'resolved' AND d.action <> 'auto')
            THEN 'timing' ELSE 'missing_at_psp' END,
       i.type, i.reference, 1, false, i.settled_day, i.occurred_at, true, i.object_id,
       ARRAY[i.object_id],
       i.amount, i.currency,
       CASE WHEN i.type = 'charge' THEN (i.amount * $6 + 5000) / 10000 ELSE 0 END,
       'succeeded', 0, '', 0, ''
FROM recon_items i
WHERE i.occurred_at >= $3 AND i.occurred_at < $4
  AND (i.settled_day IS NULL OR i.settled_day = $1)
  AND NOT EXISTS (
    SELECT 1 FROM recon_lines l
    WHERE l.merchant_id = i.merchant_id AND l.type = i.type AND l.reference = i.reference
      AND NOT EXISTS (SELECT 1 FROM absences a
                      WHERE a.merchant_id = l.merchant_id AND a.reference = l.reference))
  AND NOT EXISTS (
    SELECT 1 FROM reconciliation_discrepancies d
    WHERE d.merchant_id = i.merchant_id AND d.reference = i.reference AND d.source = $2
      AND d.day < $1 AND d.status = 'open' AND d.kind IN ('missing_in_paycore', 'status_mismatch'))
"""


def settle_items(results: str) -> str:
    """Which day settles each item of the `results` table: this one ($1; $2 the source;
    rerunning the day rewrites the same rows)."""
    return f"""
INSERT INTO reconciliation_items (merchant_id, source, reference, object_id, day)
SELECT merchant_id, $2, reference, object_id, $1 FROM {results}
WHERE settles_item AND settled_day IS DISTINCT FROM $1
ON CONFLICT (merchant_id, source, reference) DO UPDATE SET day = excluded.day
"""


_SETTLE_ITEMS = settle_items("recon_results")

# Items an earlier report lacked (timing, missing_at_psp) that this one carries: closed.
_LATE_ARRIVALS = """
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = now(),
    note = 'reported in the ' || to_char($1::date, 'YYYY-MM-DD') || ' report'
FROM recon_results r
WHERE r.late AND r.settles_item AND d.merchant_id = r.merchant_id AND d.source = $2
  AND d.day = r.settled_day AND d.reference = r.reference AND d.status = 'open'
  AND d.kind IN ('timing', 'missing_at_psp')
RETURNING d.merchant_id, d.id
"""

# The day run again after paycore booked what its first run found missing (missing_in_paycore,
# status_mismatch, still open): the line now settles paycore's item here, and the discrepancy
# closes with nothing booked (a difference in amount or currency is this run's mismatch).
_BOOKED_SINCE = """
UPDATE reconciliation_discrepancies d
SET status = 'resolved', action = 'auto', resolved_at = now(),
    note = 'booked by paycore on ' || to_char(r.booked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
FROM recon_results r
WHERE r.settles_item AND d.merchant_id = r.merchant_id AND d.reference = r.reference
  AND d.source = $2 AND d.day = $1 AND d.status = 'open'
  AND d.kind IN ('missing_in_paycore', 'status_mismatch')
RETURNING d.merchant_id, d.id
"""

_COUNTS = """
SELECT (SELECT count(*) FROM recon_lines),
       count(*) FILTER (WHERE kind = 'matched'),
       count(*) FILTER (WHERE kind <> 'matched')
FROM recon_results
"""

_DISCREPANCIES = """
SELECT merchant_id, kind, line_type, reference, occurrence, object_id, object_ids,
       internal_amount, internal_currency, internal_fee, internal_status,
       psp_amount, psp_currency, psp_fee, psp_status
FROM recon_results WHERE kind <> 'matched' ORDER BY merchant_id, reference, occurrence
"""

# The day's settlement as the report has it, per merchant and currency (merchants this shard
# knows; a line of an unknown merchant is a discrepancy, never money booked to nobody).
_SETTLEMENT_TOTALS = """
SELECT l.merchant_id, l.currency,
       sum(CASE WHEN l.type IN ('refund', 'dispute') THEN -l.amount ELSE l.amount END)::bigint
         AS gross,
       sum(l.fee)::bigint AS fee
FROM recon_lines l
WHERE EXISTS (SELECT 1 FROM merchants m WHERE m.merchant_id = l.merchant_id)
GROUP BY l.merchant_id, l.currency ORDER BY l.merchant_id, l.currency
"""


@dataclass(frozen=True)
class FoundDiscrepancy(Compared):
    """A discrepancy as matching found it, before it is stored."""

    merchant_id: str
    kind: Kind
    occurrence: int

    @property
    def key(self) -> str:
        """The same discrepancy when the day runs again: its kind, reference and occurrence."""
        return f"{self.kind.value}:{self.reference}:{self.occurrence}"


@dataclass(frozen=True)
class DayWindow:
    day: dt.date
    start: dt.datetime
    end: dt.datetime
    timing_from: dt.datetime

    @classmethod
    def of(cls, day: dt.date, timing_window_seconds: int) -> DayWindow:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        end = start + dt.timedelta(days=1)
        return cls(day, start, end, end - dt.timedelta(seconds=timing_window_seconds))


@dataclass(frozen=True)
class Matched:
    record_count: int
    matched_count: int
    discrepancies: list[FoundDiscrepancy]
    late_arrivals: list[tuple[str, str]]
    """(merchant id, discrepancy id) of earlier days' discrepancies this report closed."""
    failure_codes: Mapping[str, str] = field(default_factory=dict)
    """The bank's failure code of each payout reference it reported failed."""
    booked_late: list[tuple[str, str, dt.date]] = field(default_factory=list)
    """(merchant id, discrepancy id, its day) of the missing_in_paycore and status_mismatch
    discrepancies that paycore's late bookings closed: this day's (run again), or an earlier
    day's (the booking is this day's item, settled to the day that reported it); for the bank's
    report, the timing discrepancies of another day whose payout this report finished. The run
    checks each of those days too."""


class Steps:
    """Runs matching's statements on `driver` (each within STATEMENT_TIMEOUT_SECONDS) and keeps
    how long each took (logged: where a slow run spends its time)."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self.seconds: dict[str, float] = {}

    async def execute(self, name: str, statement: str, *arguments: object) -> None:
        started = time.perf_counter()
        await self._driver.execute(statement, *arguments, timeout=STATEMENT_TIMEOUT_SECONDS)
        self.seconds[name] = time.perf_counter() - started

    async def fetch(self, name: str, statement: str, *arguments: object) -> list[Any]:
        started = time.perf_counter()
        rows = await self._driver.fetch(statement, *arguments, timeout=STATEMENT_TIMEOUT_SECONDS)
        self.seconds[name] = time.perf_counter() - started
        return list(rows)

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.seconds.items())


async def create_staging(driver: Driver) -> None:
    # JIT compiling these few statements costs more than running them (about 0.4 s each with
    # the correlated subplans' estimates); every row they touch is read once.
    await driver.execute("SET LOCAL jit = off")
    await driver.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT_SECONDS}s'")
    await driver.execute(
        f"SET LOCAL idle_in_transaction_session_timeout = '{STATEMENT_TIMEOUT_SECONDS}s'"
    )
    await driver.execute(_CREATE_RAW, timeout=STATEMENT_TIMEOUT_SECONDS)
    await driver.execute(_CREATE_NEXT_RAW, timeout=STATEMENT_TIMEOUT_SECONDS)


async def stage(
    driver: Driver, records: list[tuple[int, str, bytes]], table: str = "recon_raw"
) -> None:
    """COPYs report lines into `table`: the day's (recon_raw), or the next day's lines that name
    one of the day's absent items (recon_next_raw)."""
    await driver.copy_records_to_table(
        table, records=records, columns=RAW_COLUMNS, timeout=STATEMENT_TIMEOUT_SECONDS
    )


@dataclass(frozen=True)
class Prepared:
    """A shard's first half of matching: the day's lines parsed, paycore's items read, the late
    bookings settled; what to look for in the next day's report."""

    steps: Steps
    late_booked: list[Any]
    absent: list[tuple[str, str]]
    """(merchant id, reference) of paycore's items of the day, recorded before the timing
    window, that the day's report lacks."""


async def prepare(driver: Driver, source: Source, window: DayWindow) -> Prepared:
    """Parses the staged lines, reads paycore's items, settles late bookings, and finds the
    items the report lacks (the run looks for them in the next day's report: `stage` them to
    recon_next_raw before `match`)."""
    steps = Steps(driver)
    await steps.execute("parse", _PARSE_PSP_LINES)
    await driver.execute("ANALYZE recon_lines")
    await steps.execute("items", _PAYCORE_ITEMS, source.value, window.start, window.end)
    await driver.execute("ANALYZE recon_items")
    await steps.execute("other days", _OTHER_DAYS_ITEMS, source.value, window.start, window.end)
    await steps.execute(
        "other days' disputes",
        _OTHER_DAYS_DISPUTE_ITEMS,
        source.value,
        window.start,
        window.end,
    )
    late_booked = await steps.fetch(
        "late bookings", _LATE_BOOKINGS, source.value, window.start, window.end, window.day
    )
    absent = await steps.fetch("absent", _ABSENT, window.day, window.start, window.end)
    return Prepared(steps, late_booked, [(row["merchant_id"], row["reference"]) for row in absent])


async def match(
    driver: Driver,
    source: Source,
    run_id: str,
    window: DayWindow,
    fee_bp: int,
    prepared: Prepared,
    *,
    next_day_read: bool,
) -> Matched:
    """Matches the staged lines against paycore's items (after `prepare`), settles the matched
    items to the day and closes what arrived late. An item the day lacks is timing when the
    staged lines of the next day (recon_next_raw) carry it; when the run could not read the
    next day's report (`next_day_read` false), also when paycore recorded it within the timing
    window before midnight."""
    steps, late_booked = prepared.steps, prepared.late_booked
    await steps.execute("next day", PARSE_NEXT_LINES)
    await steps.execute(
        "results",
        _RESULTS,
        window.day,
        source.value,
        window.start,
        window.end,
        window.end if next_day_read else window.timing_from,
        fee_bp,
    )
    await steps.execute("settle", _SETTLE_ITEMS, window.day, source.value)
    late = await driver.fetch(
        _LATE_ARRIVALS, window.day, source.value, timeout=STATEMENT_TIMEOUT_SECONDS
    )
    booked_since = await steps.fetch("booked since", _BOOKED_SINCE, window.day, source.value)
    record_count, matched_count, _ = await driver.fetchrow(
        _COUNTS, timeout=STATEMENT_TIMEOUT_SECONDS
    )
    log.info("matching %s: %s", run_id, steps)
    found = [
        found_discrepancy(row)
        for row in await driver.fetch(_DISCREPANCIES, timeout=STATEMENT_TIMEOUT_SECONDS)
    ]
    return Matched(
        record_count,
        matched_count,
        found,
        [(row["merchant_id"], row["id"]) for row in late],
        booked_late=[(row["merchant_id"], row["id"], row["day"]) for row in late_booked]
        + [(row["merchant_id"], row["id"], window.day) for row in booked_since],
    )


def found_discrepancy(row: Any) -> FoundDiscrepancy:
    """A row of a discrepancies statement (the columns of FoundDiscrepancy)."""
    return FoundDiscrepancy(
        merchant_id=row["merchant_id"],
        kind=Kind(row["kind"]),
        line_type=row["line_type"],
        reference=row["reference"],
        occurrence=row["occurrence"],
        object_id=row["object_id"] or "",
        object_ids=tuple(row["object_ids"]),
        internal_amount=row["internal_amount"],
        internal_currency=row["internal_currency"],
        internal_fee=row["internal_fee"],
        internal_status=row["internal_status"],
        psp_amount=row["psp_amount"],
        psp_currency=row["psp_currency"],
        psp_fee=row["psp_fee"],
        psp_status=row["psp_status"],
    )


async def settlement_totals(driver: Driver) -> list[tuple[str, str, int, int]]:
    """(merchant, currency, gross, fee) of the staged report."""
    rows = await driver.fetch(_SETTLEMENT_TOTALS, timeout=STATEMENT_TIMEOUT_SECONDS)
    return [(row["merchant_id"], row["currency"], row["gross"], row["fee"]) for row in rows]
