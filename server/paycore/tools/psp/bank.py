"""The simulator's bank side: payouts to bank accounts and debit cards.

    POST /v1/bank/payouts                      send a payout (idempotent by idempotency_key)
    GET  /v1/bank/payouts/{idempotency_key}    the payout as it stands now, or 404 not_found
    GET  /v1/bank/payouts_report/{YYYY-MM-DD}  the day's payouts report (below)

A payout request: {"idempotency_key", "merchant", "reference" (paycore's po_ id), "amount",
"currency", "method": "standard"|"instant", "destination": {"type": "bank_account", "country",
"routing_number", "account_number"} | {"type": "card", "card": {"number", "exp_month",
"exp_year"}}}. The bank takes it (200, status "in_transit"; an instant one "paid" at once) and
stores its answer under the key like any PSP operation, so GET /v1/operations/{key} answers it
too. A payout object: {"id": "bpo_...", "object": "bank_payout", "idempotency_key", "merchant",
"reference", "amount", "currency", "method", "status": "in_transit"|"paid"|"failed",
"arrival_date" (unix seconds), "paid_at", "failed_at" (unix seconds or null), "failure_code",
"failure_message", "created"}.

Time: the status follows the simulator's clock. A standard payout arrives (is paid) at the start
of the second bank business day (Monday to Friday, UTC) after the day it was sent
(paycore.payout.calendar, the same rule paycore estimates arrival_date with); an instant one is
paid when sent.

Test account numbers (the last 12 digits of the account number or IBAN; anything else is paid):
    000123456789   paid
    000111111116   fails on arrival: no_account
    000111111113   fails on arrival: account_closed
    000222222227   fails on arrival: invalid_account_number
    000333333335   fails on arrival: could_not_process
    000444444440   paid, then returned 3 days after arrival: account_closed
    000555555553   paid; the first answer is lost (the connection drops after it is recorded)
    000666666664   paid; the first answer is held until the client times out (then recorded)
Debit cards are always paid (instant).

The payouts report (reconciliation reads it): JSON lines, one per thing that happened to a
payout that UTC day, oldest first:
    {"type": "submitted"|"paid"|"failed", "id": "bpo_...", "idempotency_key", "reference",
     "merchant", "amount", "currency", "method", "failure_code", "time": ISO-8601 UTC}
A payout paid and later returned appears as "paid" on its arrival day and "failed" on the day
it came back; only what happened up to the simulator's now is listed. Lines of one time and
payout come "submitted" first (an instant payout is submitted and paid at once). The report
can be altered for reconciliation's tests (`bank_payouts` faults: paycore.tools.psp.report_faults).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from paycore.ids import random_base62
from paycore.payout.calendar import arrival_date
from paycore.payout.models import DAY_SECONDS, PayoutMethod
from paycore.tools.psp.processing import HTTP_OK, Answer, Processor, dumps
from paycore.tools.psp.report_faults import Alteration, Happening, altered_payouts
from paycore.tools.psp.requests import PayoutRequest, PspFailure
from paycore.tools.psp.settlement import DAY_MS, day_bounds_ms
from paycore.tools.psp.store import BankPayout, bank_payout_rows

ID_LENGTH = 24
RETURN_DAYS = 3
"""How long after arrival the returning test account bounces back."""


@dataclass(frozen=True)
class AccountOutcome:
    failure_code: str = ""
    failure_message: str = ""
    returned_after_paid: bool = False
    answer_lost: bool = False
    times_out: bool = False


PAID_ACCOUNT = "000123456789"
"""The docs' "always paid" test account (any number not in TEST_ACCOUNTS is paid too)."""

TEST_ACCOUNTS: dict[str, AccountOutcome] = {
    "000111111116": AccountOutcome("no_account", "The bank account does not exist"),
    "000111111113": AccountOutcome("account_closed", "The bank account has been closed"),
    "000222222227": AccountOutcome(
        "invalid_account_number", "The routing number and account number do not match"
    ),
    "000333333335": AccountOutcome("could_not_process", "The bank could not process this payout"),
    "000444444440": AccountOutcome(
        "account_closed", "The bank returned the payout: account closed", returned_after_paid=True
    ),
    "000555555553": AccountOutcome(answer_lost=True),
    "000666666664": AccountOutcome(times_out=True),
}


def account_outcome(request: PayoutRequest) -> AccountOutcome:
    if request.destination_type == "card":
        return AccountOutcome()
    return TEST_ACCOUNTS.get(request.account_number[-12:], AccountOutcome())


class Bank:
    def __init__(self, processor: Processor, clock: Callable[[], float]) -> None:
        self.processor = processor
        self.store = processor.store
        self.clock = clock

    def payout(self, request: PayoutRequest) -> Answer:
        request_hash = self.processor.hash(
            "payout",
            request.merchant,
            request.reference,
            request.amount,
            request.currency,
            request.method,
            request.destination_type,
            request.country,
            request.routing_number,
            request.account_number,
        )
        outcome = account_outcome(request)

        def perform(now_ms: int) -> Answer:
            if (
                request.method == "instant"
                and request.destination_type == "bank_account"
                and (outcome.failure_code and not outcome.returned_after_paid)
            ):
                raise PspFailure(400, outcome.failure_code, outcome.failure_message, stored=True)
            method = PayoutMethod(request.method)
            arrival_ms = arrival_date(now_ms // 1000, method) * 1000
            arrival_ms = max(arrival_ms, now_ms)
            failed_ms = None
            paid_ms: int | None = arrival_ms
            if outcome.failure_code:
                if outcome.returned_after_paid:
                    failed_ms = arrival_ms + RETURN_DAYS * DAY_SECONDS * 1000
                else:
                    paid_ms, failed_ms = None, arrival_ms
            payout = BankPayout(
                id="bpo_" + random_base62(ID_LENGTH),
                idempotency_key=request.idempotency_key,
                merchant=request.merchant,
                reference=request.reference,
                amount=request.amount,
                currency=request.currency,
                method=request.method,
                destination_type=request.destination_type,
                destination_last4=request.account_number[-4:],
                destination_fingerprint=self.processor.fingerprint(request.account_number)[:16],
                submitted_ms=now_ms,
                arrival_ms=arrival_ms,
                paid_ms=paid_ms,
                failed_ms=failed_ms,
                failure_code=outcome.failure_code,
                failure_message=outcome.failure_message,
            )
            self.store.insert_bank_payout(payout)
            return Answer(HTTP_OK, dumps(payout_body(payout, now_ms)))

        return self.processor.idempotent(request.idempotency_key, "payout", request_hash, perform)

    def payout_now(self, idempotency_key: str) -> str:
        found = self.store.bank_payout(idempotency_key)
        if found is None:
            raise PspFailure(404, "not_found", "No payout has this idempotency key")
        return dumps(payout_body(found, int(self.clock() * 1000)))

    def report_lines(self, day: dt.date, alterations: Sequence[Alteration] = ()) -> list[str]:
        """The day's report so far (to the simulator's clock), with the faults the tests asked
        for (report_faults); the lines a `next_day` fault moved in from the day before are in
        it at once, as the settlement report's (the simulator knows it moved them)."""
        start_ms, end_ms = day_bounds_ms(day)
        now_ms = int(self.clock() * 1000) + 1
        happenings = self._happenings(start_ms, min(end_ms, now_ms))
        before = day - dt.timedelta(days=1)
        moving = [a for a in alterations if a.day == before and a.action == "next_day"]
        moved_in = []
        if moving:
            moved_in = [
                happening
                for happening in self._happenings(start_ms - DAY_MS, min(start_ms, now_ms))
                if any(a.id in (happening[2].id, happening[2].reference) for a in moving)
            ]
        happenings = altered_payouts(day, happenings, alterations, moved_in)
        return [report_line(kind, at, payout) for at, kind, payout in happenings]

    def _happenings(self, start_ms: int, end_ms: int) -> list[Happening]:
        """What happened to payouts with start_ms <= time < end_ms, oldest first."""
        happenings: list[Happening] = []
        for payout in bank_payout_rows(self.store.path, start_ms, end_ms):
            for kind, at in (
                ("submitted", payout.submitted_ms),
                ("paid", payout.paid_ms),
                ("failed", payout.failed_ms),
            ):
                if at is not None and start_ms <= at < end_ms:
                    happenings.append((at, kind, payout))
        happenings.sort(key=lambda item: (item[0], item[2].id, item[1] != "submitted"))
        return happenings


def status_at(payout: BankPayout, now_ms: int) -> str:
    if payout.failed_ms is not None and payout.failed_ms <= now_ms:
        return "failed"
    if payout.paid_ms is not None and payout.paid_ms <= now_ms:
        return "paid"
    return "in_transit"


def payout_body(payout: BankPayout, now_ms: int) -> dict[str, Any]:
    status = status_at(payout, now_ms)
    failed = status == "failed"
    paid_ms = payout.paid_ms if payout.paid_ms is not None and payout.paid_ms <= now_ms else None
    return {
        "id": payout.id,
        "object": "bank_payout",
        "idempotency_key": payout.idempotency_key,
        "merchant": payout.merchant,
        "reference": payout.reference,
        "amount": payout.amount,
        "currency": payout.currency,
        "method": payout.method,
        "status": status,
        "arrival_date": payout.arrival_ms // 1000,
        "paid_at": None if paid_ms is None else paid_ms // 1000,
        "failed_at": payout.failed_ms // 1000 if failed and payout.failed_ms else None,
        "failure_code": payout.failure_code if failed else "",
        "failure_message": payout.failure_message if failed else "",
        "created": payout.submitted_ms // 1000,
    }


def report_line(kind: str, at_ms: int, payout: BankPayout) -> str:
    time = dt.datetime.fromtimestamp(at_ms / 1000, dt.UTC)
    return dumps(
        {
            "type": kind,
            "id": payout.id,
            "idempotency_key": payout.idempotency_key,
            "reference": payout.reference,
            "merchant": payout.merchant,
            "amount": payout.amount,
            "currency": payout.currency,
            "method": payout.method,
            "failure_code": payout.failure_code if kind == "failed" else "",
            "time": time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
    )
