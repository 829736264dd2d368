"""Disputes as DisputeService messages."""

from __future__ import annotations

from paycore.dispute.models import EVIDENCE_FIELDS, Dispute
from paycore.payout.servicer.messages import balance_transaction_message
from paycore.runtime.messages import converts, message_of
from paycore.v1 import dispute_pb2


@converts(dispute_pb2.Dispute)
def dispute_message(dispute: Dispute) -> dispute_pb2.Dispute:
    return message_of(
        dispute_pb2.Dispute,
        dispute,
        charge=dispute.psp_charge,
        evidence=dispute_pb2.DisputeEvidence(
            **{
                name: dispute.evidence[name]
                for name in EVIDENCE_FIELDS
                if dispute.evidence.get(name)
            }
        ),
        evidence_details=dispute_pb2.DisputeEvidenceDetails(
            due_by=dispute.due_by,
            has_evidence=dispute.has_evidence,
            submission_count=dispute.submission_count,
            submitted_at=dispute.submitted_at,
            past_due=dispute.submission_count > 0 and dispute.submitted_at > dispute.due_by,
        ),
        is_charge_refundable=dispute.status.inquiry,
        balance_transactions=[
            balance_transaction_message(transaction) for transaction in dispute.balance_transactions
        ],
    )
