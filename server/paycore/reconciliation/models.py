"""Reconciliation's types: runs, report lines, discrepancies and their resolutions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from paycore.ids import PLATFORM_OWNER
from paycore.records import Stored

RECONCILIATION_OWNER = PLATFORM_OWNER
"""The owner (merchant_id column) of platform-wide rows: runs and their parts."""


class Source(StrEnum):
    PSP_SETTLEMENT = "psp_settlement"
    BANK_PAYOUTS = "bank_payouts"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Kind(StrEnum):
    MISSING_IN_PAYCORE = "missing_in_paycore"
    MISSING_AT_PSP = "missing_at_psp"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    DUPLICATE = "duplicate"
    FEE_MISMATCH = "fee_mismatch"
    TIMING = "timing"
    PAYOUT_MISMATCH = "payout_mismatch"


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Action(StrEnum):
    AUTO = "auto"
    ADJUST = "adjust"
    WRITE_OFF = "write_off"
    REFUND_AT_PSP = "refund_at_psp"
    IGNORE = "ignore"


OPERATOR_ACTIONS = frozenset({Action.ADJUST, Action.WRITE_OFF, Action.REFUND_AT_PSP, Action.IGNORE})


MONEY_OUT = frozenset({"refund", "dispute"})
"""The line types whose amount leaves psp_receivable (a dispute: a chargeback's withdrawal)."""


@dataclass(frozen=True)
class Run:
    id: str
    source: Source
    day: dt.date
    status: RunStatus
    record_count: int
    matched_count: int
    discrepancy_count: int
    auto_resolved_count: int
    attempt_count: int
    failure_message: str
    created: int
    finished: int | None

    @property
    def merchant_id(self) -> str:
        """The run's owner, as its row and its events name it: the platform."""
        return RECONCILIATION_OWNER


@dataclass(frozen=True)
class PartCounts:
    """What one physical shard's part of a run found."""

    record_count: int = 0
    matched_count: int = 0
    discrepancy_count: int = 0
    auto_resolved_count: int = 0

    def __add__(self, other: PartCounts) -> PartCounts:
        return PartCounts(
            self.record_count + other.record_count,
            self.matched_count + other.matched_count,
            self.discrepancy_count + other.discrepancy_count,
            self.auto_resolved_count + other.auto_resolved_count,
        )


@dataclass(frozen=True)
class Line:
    """One record of a report, as staged (the COPY's row)."""

    number: int
    merchant_id: str
    type: str
    """charge | refund | dispute | dispute_reversal | payout"""
    reference: str
    """The PSP's (bank's) id of the record: ch_, rf_, the payout's id at the bank; a dispute's
    movement, `<du_...>:<type>`."""
    charge: str
    """A refund's charge (ch_); a charge's own id."""
    object_id: str
    """paycore's id the record names (the PSP's `reference`: pord_ / pi_; a payout's po_)."""
    amount: int
    currency: str
    fee: int
    status: str
    occurred_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class Compared:
    """What a discrepancy compares: a record of the report (its type and the PSP's or bank's
    reference), paycore's object(s) it names, and what each side has: paycore's records
    (internal_*) and the report (psp_*). Keyword-only, so a model's own fields keep their
    positions and every construction names these."""

    line_type: str
    reference: str
    object_id: str
    object_ids: tuple[str, ...]
    internal_amount: int
    internal_currency: str
    internal_fee: int
    internal_status: str
    psp_amount: int
    psp_currency: str
    psp_fee: int
    psp_status: str


@dataclass(frozen=True)
class Discrepancy(Stored, Compared):
    source: Source
    day: dt.date
    kind: Kind
    status: Status
    run_id: str
    action: Action | None
    note: str
    ledger_transfer_ids: tuple[str, ...]
    resolved: int | None

    def receivable_residual(self) -> dict[str, int]:
        """What the item leaves in psp_receivable (or, for payouts, payouts_in_transit) per
        currency: paycore's signed amount less the report's (a charge and a dispute's
        reinstatement add, a refund and a dispute's withdrawal take)."""
        sign = -1 if self.line_type in MONEY_OUT else 1
        residual: dict[str, int] = {}
        if self.internal_currency:
            residual[self.internal_currency] = sign * self.internal_amount
        if self.psp_currency:
            residual[self.psp_currency] = residual.get(self.psp_currency, 0) - (
                sign * self.psp_amount
            )
        return {currency: amount for currency, amount in residual.items() if amount}


@dataclass(frozen=True)
class DiscrepancyFilter:
    merchant_id: str | None = None
    run_id: str | None = None
    day: dt.date | None = None
    kind: Kind | None = None
    status: Status | None = None


@dataclass(frozen=True)
class Resolution:
    action: Action
    note: str


@dataclass(frozen=True)
class DayReceivable:
    """A settled day's psp_receivable for one merchant and currency: what the ledger holds for
    the day's items and the day's settlement, and what its open discrepancies explain."""

    merchant_id: str
    currency: str
    ledger_amount: int
    open_residual: int
