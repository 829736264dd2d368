"""Faults in the daily reports, for reconciliation's tests: the simulator can be told, through
`POST /_control/faults {"settlement": [...]}`, to alter a day's settlement report (the list
replaces the previous one; `[]` clears it). Each alteration names the day and what to do:

    {"day": D, "action": "drop",      "id": ID}                   the line is left out
    {"day": D, "action": "amount",    "id": ID, "amount": N}      reported with another amount
    {"day": D, "action": "currency",  "id": ID, "currency": C}    ... another currency
    {"day": D, "action": "fee",       "id": ID, "fee": N}         ... another fee
    {"day": D, "action": "duplicate", "id": ID}                   a second charge, new id, for
                                                                  the same payment
    {"day": D, "action": "next_day",  "id": ID}                   left out of D, reported in
                                                                  D + 1 (at 00:00:00.5 UTC)
    {"day": D, "action": "unknown_charge", "merchant": M, "amount": N, "currency": C,
     "reference": R}                                              a captured charge paycore
                                                                  never heard of (a lost
                                                                  answer when R is paycore's)

`ID` is the line's id (ch_, rf_, or du_ for a dispute's lines). An alteration naming an id may
also name the line's `type` ("type": "dispute_reversal"): then it applies only to the line of
that type (a dispute withdrawn and reinstated the same day has two lines of one id), else to
every line of the id. `duplicate` of a charge (or a refund) is a second charge (new id); of
a dispute's line, the same line repeated. The stored charges, refunds and disputes are never
changed: only what the report says about them.

The bank's payouts report likewise, through `POST /_control/faults {"bank_payouts": [...]}`
(paycore.tools.psp.bank applies them); `ID` names a payout, by the bank's id (bpo_) or by
paycore's (po_, the line's `reference`), and the alteration applies to each of its lines of
the day:

    {"day": D, "action": "drop",     "id": ID}                    its lines are left out
    {"day": D, "action": "amount",   "id": ID, "amount": N}       reported with another amount
    {"day": D, "action": "currency", "id": ID, "currency": C}     ... another currency
    {"day": D, "action": "fail",     "id": ID, "failure_code": F} its "paid" line says "failed"
                                                                  (F: account_closed if absent)
    {"day": D, "action": "next_day", "id": ID}                    its lines are left out of D,
                                                                  reported in D + 1 (at
                                                                  00:00:00.5 UTC)
    {"day": D, "action": "unknown_payout", "merchant": M, "amount": N, "currency": C,
     "reference": R}                                              a payout paycore never made,
                                                                  submitted and paid at noon
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from paycore.tools.psp.requests import PspFailure, invalid
from paycore.tools.psp.store import (
    DISPUTE_REINSTATEMENT,
    DISPUTE_WITHDRAWAL,
    BankPayout,
    SettlementRow,
)

ACTIONS = ("drop", "amount", "currency", "fee", "duplicate", "next_day", "unknown_charge")
BANK_ACTIONS = ("drop", "amount", "currency", "fail", "next_day", "unknown_payout")
ALTERATIONS_MAX = 1000
DISPUTE_LINES = (DISPUTE_WITHDRAWAL, DISPUTE_REINSTATEMENT)
LINE_TYPES = ("charge", "refund", *DISPUTE_LINES)
_NEEDS = {
    "amount": ("id", "amount"),
    "currency": ("id", "currency"),
    "fee": ("id", "fee"),
    "unknown_charge": ("merchant", "amount", "currency"),
    "unknown_payout": ("merchant", "amount", "currency"),
}
_TEXTS = ("id", "type", "currency", "merchant", "reference", "failure_code")


@dataclass(frozen=True)
class Alteration:
    day: dt.date
    action: str
    id: str = ""
    amount: int | None = None
    currency: str = ""
    fee: int | None = None
    merchant: str = ""
    reference: str = ""
    failure_code: str = ""
    type: str = ""
    """The line type it is limited to ("": every line of `id`)."""

    def applies_to(self, row: SettlementRow) -> bool:
        """Whether it names `row` (its id, and its type when it names one)."""
        return row.id == self.id and self.type in ("", row.type)

    def as_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["day"] = self.day.isoformat()
        return {name: value for name, value in body.items() if value not in (None, "")}


def parse_alterations(
    body: Any, param: str = "settlement", actions: Sequence[str] = ACTIONS
) -> list[Alteration]:
    """The alterations of one report (`param`: the faults' field, named in errors)."""
    if not isinstance(body, list) or len(body) > ALTERATIONS_MAX:
        raise invalid(param, f"{param} must be a list of at most {ALTERATIONS_MAX}")
    return [_alteration(item, param, actions) for item in body]


def _alteration(item: Any, param: str, actions: Sequence[str]) -> Alteration:
    if not isinstance(item, dict):
        raise invalid(param, "each alteration must be an object")
    action = str(item.get("action"))
    if action not in actions:
        raise invalid(param, f"action must be one of {', '.join(actions)}")
    try:
        day = dt.date.fromisoformat(str(item.get("day")))
    except ValueError:
        raise invalid(param, "day must be YYYY-MM-DD") from None
    numbers = {name: item.get(name) for name in ("amount", "fee")}
    for name, value in numbers.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid(param, f"{name} must be an integer")
    texts = {name: item.get(name, "") for name in _TEXTS}
    if any(not isinstance(value, str) for value in texts.values()):
        raise invalid(param, f"{', '.join(_TEXTS)} must be strings")
    if texts["type"] not in ("", *LINE_TYPES):
        raise invalid(param, f"type must be one of {', '.join(LINE_TYPES)}")
    absent = [name for name in _NEEDS.get(action, ("id",)) if item.get(name) in (None, "")]
    if absent:
        raise invalid(param, f"{action} needs {', '.join(absent)}")
    return Alteration(day=day, action=action, amount=numbers["amount"], fee=numbers["fee"], **texts)


def altered(
    day: dt.date,
    batches: Iterator[list[SettlementRow]],
    alterations: Sequence[Alteration],
    moved_in: Sequence[SettlementRow],
    fee_of: Any,
) -> Iterator[list[SettlementRow]]:
    """The day's rows with the day's alterations applied; added lines (duplicates, unknown
    charges, lines moved in from the day before) come last."""
    todays = [alteration for alteration in alterations if alteration.day == day]
    by_id: dict[str, list[Alteration]] = {}
    for alteration in todays:
        by_id.setdefault(alteration.id, []).append(alteration)
    added: list[SettlementRow] = []
    for rows in batches:
        kept = []
        for row in rows:
            changed: SettlementRow | None = row
            for alteration in by_id.get(row.id, ()):
                if not alteration.applies_to(row):
                    continue
                changed, extra = _apply(changed, alteration) if changed else (None, None)
                if extra is not None:
                    added.append(extra)
            if changed is not None:
                kept.append(changed)
        if kept:
            yield kept
    added.extend(_added_lines(day, todays, moved_in, fee_of))
    if added:
        yield added


def _added_lines(
    day: dt.date,
    todays: Sequence[Alteration],
    moved_in: Sequence[SettlementRow],
    fee_of: Any,
) -> list[SettlementRow]:
    """Lines moved in from the day before, and charges paycore never heard of."""
    midnight_ms = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1000
    added = [dataclasses.replace(row, time_ms=midnight_ms + 500) for row in moved_in]
    for alteration in todays:
        if alteration.action == "unknown_charge":
            charge_id = _made_up_id(alteration)
            amount = alteration.amount or 0
            added.append(
                SettlementRow(
                    type="charge",
                    id=charge_id,
                    charge=charge_id,
                    merchant=alteration.merchant,
                    reference=alteration.reference,
                    amount=amount,
                    currency=alteration.currency,
                    fee=fee_of(amount),
                    time_ms=midnight_ms + 43_200_000,
                )
            )
    return added


def moved_from(day: dt.date, alterations: Sequence[Alteration]) -> list[Alteration]:
    """The alterations that move lines of the day before `day` into `day`."""
    before = day - dt.timedelta(days=1)
    return [a for a in alterations if a.day == before and a.action == "next_day"]


def _apply(
    row: SettlementRow, alteration: Alteration
) -> tuple[SettlementRow | None, SettlementRow | None]:
    action = alteration.action
    if action in ("drop", "next_day"):
        return None, None
    if action == "amount" and alteration.amount is not None:
        return dataclasses.replace(row, amount=alteration.amount), None
    if action == "currency":
        return dataclasses.replace(row, currency=alteration.currency), None
    if action == "fee" and alteration.fee is not None:
        return dataclasses.replace(row, fee=alteration.fee), None
    if action == "duplicate" and row.type in DISPUTE_LINES:
        return row, dataclasses.replace(row, time_ms=row.time_ms + 1)
    if action == "duplicate":
        copy_id = _made_up_id(alteration)
        return row, dataclasses.replace(row, id=copy_id, charge=copy_id, time_ms=row.time_ms + 1)
    raise PspFailure(400, "request_invalid", f"cannot apply {action}")


Happening = tuple[int, str, BankPayout]
"""A line of the bank's payouts report: when (ms), what (submitted | paid | failed), the payout."""
DEFAULT_FAILURE_CODE = "account_closed"


def altered_payouts(
    day: dt.date,
    happenings: Sequence[Happening],
    alterations: Sequence[Alteration],
    moved_in: Sequence[Happening] = (),
) -> list[Happening]:
    """The bank's report of `day` (its happenings, oldest first) with the day's alterations,
    and `moved_in`, the lines of the day before that a `next_day` fault moved here."""
    todays = [alteration for alteration in alterations if alteration.day == day]
    if not todays and not moved_in:
        return list(happenings)
    kept: list[Happening] = []
    for happening in happenings:
        changed = _altered_payout(happening, todays)
        if changed is not None:
            kept.append(changed)
    midnight_ms = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1000
    kept += [(midnight_ms + 500, kind, payout) for _, kind, payout in moved_in]
    noon_ms = midnight_ms + 43_200_000
    for alteration in todays:
        if alteration.action == "unknown_payout":
            made_up = "bpo_" + _made_up_id(alteration)[3:]
            payout = BankPayout(
                id=made_up,
                idempotency_key=made_up,
                merchant=alteration.merchant,
                reference=alteration.reference,
                amount=alteration.amount or 0,
                currency=alteration.currency,
                method="instant",
                destination_type="bank_account",
                destination_last4="0000",
                destination_fingerprint="",
                submitted_ms=noon_ms,
                arrival_ms=noon_ms,
                paid_ms=noon_ms,
                failed_ms=None,
                failure_code="",
                failure_message="",
            )
            kept += [(noon_ms, "submitted", payout), (noon_ms, "paid", payout)]
    return sorted(kept, key=lambda item: (item[0], item[2].id, item[1] != "submitted"))


def _altered_payout(happening: Happening, todays: Sequence[Alteration]) -> Happening | None:
    """One line with the day's alterations of its payout (None: dropped)."""
    at_ms, kind, payout = happening
    for alteration in todays:
        if alteration.id not in (payout.id, payout.reference):
            continue
        if alteration.action in ("drop", "next_day"):
            return None
        if alteration.action == "amount" and alteration.amount is not None:
            payout = dataclasses.replace(payout, amount=alteration.amount)
        elif alteration.action == "currency":
            payout = dataclasses.replace(payout, currency=alteration.currency)
        elif alteration.action == "fail" and kind == "paid":
            code = alteration.failure_code or DEFAULT_FAILURE_CODE
            kind, payout = "failed", dataclasses.replace(payout, failure_code=code)
    return at_ms, kind, payout


def _made_up_id(alteration: Alteration) -> str:
    seed = f"{alteration.day}:{alteration.action}:{alteration.id}:{alteration.merchant}"
    seed += f":{alteration.reference}:{alteration.amount}"
    return "ch_" + hashlib.sha256(seed.encode()).hexdigest()[:24]
