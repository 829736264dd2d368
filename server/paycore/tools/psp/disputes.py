"""The simulator's disputes: the buyer's bank disputing captured charges of the dispute test
cards (paycore.tools.psp.cards.DISPUTES), the merchant's answer, the outcome, and the feed
paycore polls.

    charge of a dispute card   a plan is kept (the card number is not)
    captured + delay           the dispute opens: needs_response (an inquiry:
                               warning_needs_response), evidence due the response
                               window later (a fault setting, 7 days by default)
    evidence submitted         under_review (warning_under_review); text holding
                               "winning_evidence" is won, "losing_evidence" lost
    the test decides           POST /_control/disputes/{id} {"outcome": "won" | "lost"}
    accepted (close)           lost (an inquiry: warning_closed)
    past due without evidence  lost (an inquiry: warning_closed)
    an inquiry lost            escalates to a chargeback: needs_response, due again

Money: a chargeback opening (or an inquiry escalating) withdraws the disputed amount (the
charge's captured amount less what was refunded before the dispute opened: a bank disputes at
most what the buyer still paid, and a charge refunded in full is not disputed; an inquiry
escalating withdraws what its refunds have left, and one refunded in full closes instead) and a
won chargeback reinstates it; each is a line of that day's settlement report (types
`dispute` and `dispute_reversal`, paycore.tools.psp.settlement). An inquiry, a lost or an
accepted dispute moves nothing.

Time passes only when someone looks: every read of the feed or of a dispute first applies
what became due (`catch_up`), so the injectable clock drives it. The feed
(GET /v1/dispute_events?after=N) lists every change as an event with a growing `sequence` and
the dispute as it was then: a reader that keeps the last sequence it applied reads each
change once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from paycore.ids import random_base62
from paycore.tools.psp.cards import DISPUTE_RESPONSE_SECONDS_DEFAULT
from paycore.tools.psp.processing import Answer, Processor, dumps
from paycore.tools.psp.requests import PspFailure, idempotency_key, invalid
from paycore.tools.psp.store import DISPUTE_REINSTATEMENT, DISPUTE_WITHDRAWAL, DISPUTED_AMOUNT

FEED_LIMIT_MAX = 500
EVIDENCE_CHARS_MAX = 150_000
WINNING = "winning_evidence"
LOSING = "losing_evidence"
OPEN = frozenset({"needs_response", "warning_needs_response"})
REVIEWED = frozenset({"under_review", "warning_under_review"})
CLOSED = frozenset({"won", "lost", "warning_closed"})

_DISPUTE = (
    f"select d.id, d.charge, c.merchant, c.reference, {DISPUTED_AMOUNT}, c.currency, d.reason,"
    " d.status, d.due_by_ms, d.submitted_ms, d.outcome, d.created_ms"
    " from disputes d join charges c on c.id = d.charge"
)
_DUE_PLANS = (
    "select p.charge, p.reason, p.inquiry from dispute_plans p"
    " join charges c on c.id = p.charge"
    " where c.captured_ms is not null and c.captured_ms + ? <= ?"
    " and c.amount_refunded < c.amount_captured"
    " and not exists (select 1 from disputes d where d.charge = p.charge)"
    " order by c.captured_ms, p.charge"
)


class Disputes:
    def __init__(
        self,
        processor: Processor,
        delay_seconds: Callable[[], float],
        response_seconds: Callable[[], float] = lambda: DISPUTE_RESPONSE_SECONDS_DEFAULT,
    ) -> None:
        """`delay_seconds`: the current delay from capture to dispute; `response_seconds`:
        how long after it opens (or an inquiry escalates) its evidence is due (fault
        settings)."""
        self._processor = processor
        self._store = processor.store
        self._delay_seconds = delay_seconds
        self._response_seconds = response_seconds

    def _due_by_ms(self, now_ms: int) -> int:
        return now_ms + int(self._response_seconds() * 1000)

    def _now_ms(self) -> int:
        return int(self._processor.clock() * 1000)

    def catch_up(self) -> None:
        """Opens the disputes that became due and applies decided or missed outcomes."""
        now_ms = self._now_ms()
        with self._store.transaction():
            delay_ms = int(self._delay_seconds() * 1000)
            for charge, reason, inquiry in self._store.rows(_DUE_PLANS, (delay_ms, now_ms)):
                dispute_id = "du_" + random_base62(24)
                status = "warning_needs_response" if inquiry else "needs_response"
                self._store.execute(
                    "insert into disputes values (?, ?, ?, ?, ?, '{}', null, '', ?)",
                    (dispute_id, charge, status, reason, self._due_by_ms(now_ms), now_ms),
                )
                if not inquiry:
                    self._store.move_dispute_funds(dispute_id, DISPUTE_WITHDRAWAL, now_ms)
                self._event(dispute_id, "dispute.created", now_ms)
            for row in self._store.rows(
                _DISPUTE + " where d.status in (?, ?, ?, ?)", (*sorted(OPEN), *sorted(REVIEWED))
            ):
                self._settle(row, now_ms)

    def _settle(self, row: tuple[Any, ...], now_ms: int) -> None:
        dispute_id, status, due_by_ms, outcome = row[0], row[7], row[8], row[10]
        if status in OPEN and now_ms > due_by_ms and not outcome:
            outcome = "lost"
        if outcome:
            self._decide(dispute_id, status, outcome, now_ms)

    def _decide(self, dispute_id: str, status: str, outcome: str, now_ms: int) -> None:
        inquiry = status.startswith("warning_")
        if inquiry and outcome == "lost" and self._left_to_dispute(dispute_id) <= 0:
            outcome = "won"  # refunded in full meanwhile: the bank has nothing to charge back
        if inquiry and outcome == "lost":
            # The inquiry escalates to a chargeback, answered afresh.
            self._store.execute(
                "update disputes set status = 'needs_response', due_by_ms = ?, evidence = '{}',"
                " submitted_ms = null, outcome = '' where id = ?",
                (self._due_by_ms(now_ms), dispute_id),
            )
            self._store.move_dispute_funds(dispute_id, DISPUTE_WITHDRAWAL, now_ms)
            self._event(dispute_id, "dispute.updated", now_ms)
            return
        closed = "warning_closed" if inquiry else outcome
        self._store.execute(
            "update disputes set status = ?, outcome = ? where id = ?",
            (closed, outcome, dispute_id),
        )
        if not inquiry and outcome == "won":
            self._store.move_dispute_funds(dispute_id, DISPUTE_REINSTATEMENT, now_ms)
        self._event(dispute_id, "dispute.closed", now_ms)

    def _left_to_dispute(self, dispute_id: str) -> int:
        """The dispute's amount now: for an inquiry, what its refunds have left of the charge."""
        return int(self._row(dispute_id)[4])

    def _event(self, dispute_id: str, kind: str, now_ms: int) -> None:
        body = dumps(self._body(dispute_id))
        self._store.execute(
            "insert into dispute_events (dispute, type, time_ms, body) values (?, ?, ?, ?)",
            (dispute_id, kind, now_ms, body),
        )

    def _row(self, dispute_id: str) -> tuple[Any, ...]:
        rows = self._store.rows(_DISPUTE + " where d.id = ?", (dispute_id,))
        if not rows:
            raise PspFailure(404, "not_found", f"no dispute {dispute_id}", param="id")
        return rows[0]

    def _body(self, dispute_id: str) -> dict[str, Any]:
        row = self._row(dispute_id)
        return {
            "id": row[0],
            "object": "dispute",
            "charge": row[1],
            "merchant": row[2],
            "reference": row[3],
            "amount": row[4],
            "currency": row[5],
            "reason": row[6],
            "status": row[7],
            "evidence_due_by": row[8] // 1000,
            "evidence_submitted": row[9] is not None,
            "created": row[11] // 1000,
        }

    def dispute_json(self, dispute_id: str) -> str:
        self.catch_up()
        return dumps(self._body(dispute_id))

    def feed(self, after: int, limit: int) -> str:
        self.catch_up()
        rows = self._store.rows(
            "select sequence, type, time_ms, body from dispute_events where sequence > ?"
            " order by sequence limit ?",
            (after, limit + 1),
        )
        events = [
            {
                "sequence": sequence,
                "type": kind,
                "time": time_ms // 1000,
                "dispute": json.loads(body),
            }
            for sequence, kind, time_ms, body in rows[:limit]
        ]
        return dumps({"data": events, "has_more": len(rows) > limit})

    def submit(self, dispute_id: str, body: dict[str, Any]) -> Answer:
        """Sends the merchant's evidence (once; idempotent by key)."""
        evidence = _evidence(body)
        key = idempotency_key(body)
        self.catch_up()
        request_hash = self._processor.hash("dispute_evidence", dispute_id, evidence)

        def perform(now_ms: int) -> Answer:
            row = self._row(dispute_id)
            status, due_by_ms = row[7], row[8]
            if status not in OPEN:
                raise _refused("dispute_not_open", f"dispute {dispute_id} is {status}")
            if now_ms > due_by_ms:
                raise _refused("dispute_past_due", f"dispute {dispute_id}'s evidence was due")
            text = " ".join(evidence.values())
            outcome = "won" if WINNING in text else "lost" if LOSING in text else ""
            reviewed = "warning_under_review" if status.startswith("warning_") else "under_review"
            self._store.execute(
                "update disputes set status = ?, evidence = ?, submitted_ms = ?, outcome = ?"
                " where id = ?",
                (reviewed, json.dumps(evidence), now_ms, outcome, dispute_id),
            )
            self._event(dispute_id, "dispute.updated", now_ms)
            return Answer(200, dumps(self._body(dispute_id)))

        return self._processor.idempotent(key, "dispute_evidence", request_hash, perform)

    def close(self, dispute_id: str, body: dict[str, Any]) -> Answer:
        """The merchant accepts the dispute (idempotent by key)."""
        key = idempotency_key(body)
        self.catch_up()
        request_hash = self._processor.hash("dispute_close", dispute_id)

        def perform(now_ms: int) -> Answer:
            row = self._row(dispute_id)
            status = row[7]
            if status in CLOSED:
                raise _refused("dispute_closed", f"dispute {dispute_id} is {status}")
            inquiry = status.startswith("warning_")
            self._store.execute(
                "update disputes set status = ?, outcome = 'lost' where id = ?",
                ("warning_closed" if inquiry else "lost", dispute_id),
            )
            self._event(dispute_id, "dispute.closed", now_ms)
            return Answer(200, dumps(self._body(dispute_id)))

        return self._processor.idempotent(key, "dispute_close", request_hash, perform)

    def decide(self, dispute_id: str, body: dict[str, Any]) -> str:
        """The test's outcome (won | lost), applied now."""
        outcome = body.get("outcome")
        if outcome not in ("won", "lost"):
            raise invalid("outcome", "outcome is won or lost")
        self.catch_up()
        with self._store.transaction():
            status = self._row(dispute_id)[7]
            if status in CLOSED:
                raise _refused("dispute_closed", f"dispute {dispute_id} is {status}")
            self._decide(dispute_id, status, str(outcome), self._now_ms())
        return dumps(self._body(dispute_id))


def _refused(code: str, message: str) -> PspFailure:
    return PspFailure(400, code, message, stored=True)


def _evidence(body: dict[str, Any]) -> dict[str, str]:
    evidence = body.get("evidence")
    if not isinstance(evidence, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in evidence.items()
    ):
        raise invalid("evidence", "evidence must be an object of text fields")
    if sum(len(value) for value in evidence.values()) > EVIDENCE_CHARS_MAX:
        raise invalid("evidence", f"evidence holds at most {EVIDENCE_CHARS_MAX} characters")
    return dict(sorted(evidence.items()))
