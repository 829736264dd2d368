"""Disputes as stored (frozen dataclasses; the servicer renders them as messages). Amounts are
integer minor units; times are unix seconds on the pay-out clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from paycore.payout.models import BalanceTransaction
from paycore.records import MetadataChange, Stored


class DisputeStatus(StrEnum):
    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"

    @property
    def inquiry(self) -> bool:
        return self.value.startswith("warning_")


class DisputeReason(StrEnum):
    FRAUDULENT = "fraudulent"
    PRODUCT_NOT_RECEIVED = "product_not_received"
    DUPLICATE = "duplicate"
    GENERAL = "general"


AWAITING_RESPONSE = frozenset({DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE})
"""What the merchant may answer (evidence) or accept (close)."""

EVIDENCE_FIELDS = (
    "product_description",
    "customer_name",
    "customer_email_address",
    "billing_address",
    "shipping_address",
    "shipping_carrier",
    "shipping_tracking_number",
    "shipping_date",
    "refund_policy",
    "refund_refusal_explanation",
    "cancellation_policy",
    "duplicate_charge_explanation",
    "access_activity_log",
    "service_date",
    "uncategorized_text",
    "customer_purchase_ip",
    "cancellation_rebuttal",
    "refund_policy_disclosure",
    "cancellation_policy_disclosure",
    "duplicate_charge_id",
)


class PspAction(StrEnum):
    """A call to the PSP recorded by a request and not yet answered."""

    NONE = ""
    SUBMIT = "submit"
    CLOSE = "close"


@dataclass(frozen=True)
class Dispute(Stored):
    payment_intent_id: str
    """The payment intent whose charge is disputed ("" for a payment order's)."""
    payment_order_id: str
    """The checkout payment order whose charge is disputed ("" for a payment intent's)."""
    account: str
    """Whose balance the dispute's money moves: the charge's owner, the balance the charge
    credited ("" the merchant's own; a payment order's seller)."""
    psp_dispute: str
    psp_charge: str
    amount: int
    fee: int
    """Taken with the withdrawal (0 for an inquiry that never escalated)."""
    currency: str
    reason: DisputeReason
    status: DisputeStatus
    evidence: dict[str, str]
    due_by: int
    submitted_at: int
    submission_count: int
    psp_action: PspAction
    psp_action_at: int
    """When the call was recorded (or last taken up): the dispute_feed job resumes one that
    no request finished within the lease."""
    psp_sequence: int
    balance_transaction_ids: tuple[str, ...]
    """The balance transactions the dispute made, in order: the withdrawal, then a
    reinstatement if won (the column `balance_transactions`)."""
    metadata: dict[str, str] = field(default_factory=dict)
    balance_transactions: tuple[BalanceTransaction, ...] = ()
    """Those transactions themselves, as Stripe renders them on a dispute (read with it:
    repository.DISPUTES; an event's snapshot completes it the same way)."""

    @property
    def charge_id(self) -> str:
        """The pi_ or pord_ whose charge is disputed."""
        return self.payment_intent_id or self.payment_order_id

    @property
    def has_evidence(self) -> bool:
        return any(self.evidence.values())

    def past_due(self, now: int) -> bool:
        return self.status in AWAITING_RESPONSE and now > self.due_by


@dataclass(frozen=True)
class EvidenceUpdate:
    """UpdateDispute: the fields given replace the staged ones, an empty one ("") unsets its
    field (as at Stripe); submit sends them."""

    evidence: dict[str, str]
    metadata: MetadataChange
    submit: bool

    @property
    def param(self) -> str:
        """What a refusal of the whole update names: the evidence it gives, else its submit
        (an update of the metadata alone is never refused for the dispute's state)."""
        return "evidence" if self.evidence else "submit"


@dataclass(frozen=True)
class DisputeFilter:
    payment_intent_id: str = ""
    payment_order_id: str = ""
    status: DisputeStatus | None = None
    psp_charge: str = ""
    """The PSP's charge id (a dispute's `charge`)."""


@dataclass(frozen=True)
class DisputeFees:
    fee: int
    """Taken with a chargeback's amount (PAYCORE_DISPUTE_FEE)."""
    returned_on_win: bool
    evidence_chars_max: int
