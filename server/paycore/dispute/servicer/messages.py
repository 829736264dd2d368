"""Disputes as DisputeService messages."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.dispute.models import EVIDENCE_FIELDS, Dispute
from paycore.v1 import dispute_pb2


def dispute_message(dispute: Dispute) -> dispute_pb2.Dispute:
    return dispute_pb2.Dispute(
        id=dispute.id,
        amount=dispute.amount,
        currency=dispute.currency,
        charge=dispute.psp_charge,
        payment_intent=dispute.payment_intent_id,
        reason=enum_number(dispute_pb2.DisputeReason, "DISPUTE_REASON", dispute.reason),
        status=enum_number(dispute_pb2.DisputeStatus, "DISPUTE_STATUS", dispute.status),
        evidence=dispute_pb2.DisputeEvidence(
            **{name: dispute.evidence.get(name, "") for name in EVIDENCE_FIELDS}
        ),
        evidence_details=dispute_pb2.DisputeEvidenceDetails(
            due_by=dispute.due_by,
            has_evidence=dispute.has_evidence,
            submission_count=dispute.submission_count,
            submitted_at=dispute.submitted_at,
        ),
        fee=dispute.fee,
        balance_transactions=list(dispute.balance_transactions),
        is_charge_refundable=dispute.status.inquiry,
        created=dispute.created,
        metadata=dispute.metadata,
    )
