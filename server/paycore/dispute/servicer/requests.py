"""DisputeService requests checked into domain values; each failure an ApiError naming its
field, raised before anything changes."""

from __future__ import annotations

from paycore import validation
from paycore.dispute.models import EVIDENCE_FIELDS, DisputeFilter, DisputeStatus, EvidenceUpdate
from paycore.errors import ApiError, Reason
from paycore.ids import Prefix
from paycore.runtime.messages import by_number_or_none, member
from paycore.runtime.servicing import metadata_change
from paycore.v1 import dispute_pb2

EVIDENCE_FIELD_CHARS_MAX = 150_000
"""No single field may hold more than the default total (the total is the domain's check)."""
CHARGE_ID_LENGTH_MAX = 255
"""ListDisputes' `charge`: the PSP's charge id, whatever its shape (the simulator's "ch_...")."""

STATUSES = by_number_or_none(DisputeStatus, dispute_pb2.DisputeStatus)


def dispute_filter(request: dispute_pb2.ListDisputesRequest) -> DisputeFilter:
    status = member("status", request.status, STATUSES, dispute_pb2.DisputeStatus)
    return DisputeFilter(
        payment_intent_id=validation.object_id(
            "payment_intent", request.payment_intent, Prefix.PAYMENT_INTENT, required=False
        ),
        payment_order_id=validation.object_id(
            "payment_order", request.payment_order, Prefix.PAYMENT_ORDER, required=False
        ),
        status=status,
        psp_charge=validation.text("charge", request.charge, maximum=CHARGE_ID_LENGTH_MAX),
    )


def evidence_update(request: dispute_pb2.UpdateDisputeRequest) -> EvidenceUpdate:
    evidence: dict[str, str] = {}
    given = {field.name for field, _ in request.evidence.ListFields()}
    for name in EVIDENCE_FIELDS:
        text = getattr(request.evidence, name)
        param = f"evidence.{name}"
        if len(text) > EVIDENCE_FIELD_CHARS_MAX:
            raise ApiError(
                Reason.DISPUTE_EVIDENCE_TOO_LONG,
                param=param,
                length=len(text),
                maximum=EVIDENCE_FIELD_CHARS_MAX,
            )
        if text:
            evidence[name] = validation.text(param, text, maximum=EVIDENCE_FIELD_CHARS_MAX)
        elif name in given:
            evidence[name] = ""  # given empty: unsets the staged field
    return EvidenceUpdate(
        evidence=evidence,
        metadata=metadata_change(request),
        submit=request.submit,
    )
