"""Reconciliation dataclasses -> ReconciliationService messages, and the enums both ways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paycore.reconciliation.models import Action, Discrepancy, Kind, Run, RunStatus, Source, Status
from paycore.v1 import reconciliation_pb2 as pb

SOURCES: dict[int, Source] = {
    pb.RECONCILIATION_SOURCE_PSP_SETTLEMENT: Source.PSP_SETTLEMENT,
    pb.RECONCILIATION_SOURCE_BANK_PAYOUTS: Source.BANK_PAYOUTS,
}
KINDS: dict[int, Kind] = {
    pb.DISCREPANCY_KIND_MISSING_IN_PAYCORE: Kind.MISSING_IN_PAYCORE,
    pb.DISCREPANCY_KIND_MISSING_AT_PSP: Kind.MISSING_AT_PSP,
    pb.DISCREPANCY_KIND_AMOUNT_MISMATCH: Kind.AMOUNT_MISMATCH,
    pb.DISCREPANCY_KIND_STATUS_MISMATCH: Kind.STATUS_MISMATCH,
    pb.DISCREPANCY_KIND_CURRENCY_MISMATCH: Kind.CURRENCY_MISMATCH,
    pb.DISCREPANCY_KIND_DUPLICATE: Kind.DUPLICATE,
    pb.DISCREPANCY_KIND_FEE_MISMATCH: Kind.FEE_MISMATCH,
    pb.DISCREPANCY_KIND_TIMING: Kind.TIMING,
    pb.DISCREPANCY_KIND_PAYOUT_MISMATCH: Kind.PAYOUT_MISMATCH,
}
STATUSES: dict[int, Status] = {
    pb.DISCREPANCY_STATUS_OPEN: Status.OPEN,
    pb.DISCREPANCY_STATUS_RESOLVED: Status.RESOLVED,
}
ACTIONS: dict[int, Action] = {
    pb.DISCREPANCY_ACTION_AUTO: Action.AUTO,
    pb.DISCREPANCY_ACTION_ADJUST: Action.ADJUST,
    pb.DISCREPANCY_ACTION_WRITE_OFF: Action.WRITE_OFF,
    pb.DISCREPANCY_ACTION_REFUND_AT_PSP: Action.REFUND_AT_PSP,
    pb.DISCREPANCY_ACTION_IGNORE: Action.IGNORE,
}
_RUN_STATUSES: dict[RunStatus, Any] = {
    RunStatus.RUNNING: pb.RECONCILIATION_RUN_STATUS_RUNNING,
    RunStatus.SUCCEEDED: pb.RECONCILIATION_RUN_STATUS_SUCCEEDED,
    RunStatus.FAILED: pb.RECONCILIATION_RUN_STATUS_FAILED,
}


def _number(mapping: Mapping[int, object], value: object) -> Any:
    """The proto enum number of a domain value."""
    return next(number for number, known in mapping.items() if known == value)


def run_message(run: Run) -> pb.ReconciliationRun:
    return pb.ReconciliationRun(
        id=run.id,
        date=run.day.isoformat(),
        psp="simulator",
        status=_RUN_STATUSES[run.status],
        settlement_record_count=run.record_count,
        matched_count=run.matched_count,
        discrepancy_count=run.discrepancy_count,
        auto_resolved_count=run.auto_resolved_count,
        finished=run.finished or 0,
        failure_message=run.failure_message,
        created=run.created,
        source=_number(SOURCES, run.source),
    )


def discrepancy_message(discrepancy: Discrepancy) -> pb.Discrepancy:
    return pb.Discrepancy(
        id=discrepancy.id,
        run=discrepancy.run_id,
        date=discrepancy.day.isoformat(),
        kind=_number(KINDS, discrepancy.kind),
        status=_number(STATUSES, discrepancy.status),
        merchant=discrepancy.merchant_id if discrepancy.merchant_id.startswith("acct_") else "",
        object=discrepancy.object_id,
        objects=list(discrepancy.object_ids),
        psp_reference=discrepancy.reference,
        currency=discrepancy.internal_currency or discrepancy.psp_currency,
        psp_currency=discrepancy.psp_currency,
        internal_amount=discrepancy.internal_amount,
        psp_amount=discrepancy.psp_amount,
        internal_fee=discrepancy.internal_fee,
        psp_fee=discrepancy.psp_fee,
        internal_status=discrepancy.internal_status,
        psp_status=discrepancy.psp_status,
        line_type=discrepancy.line_type,
        resolution=discrepancy.note,
        action=_number(ACTIONS, discrepancy.action)
        if discrepancy.action
        else pb.DISCREPANCY_ACTION_UNSPECIFIED,
        ledger_transfer=discrepancy.ledger_transfer_ids[0]
        if discrepancy.ledger_transfer_ids
        else "",
        ledger_transfers=list(discrepancy.ledger_transfer_ids),
        resolved=discrepancy.resolved or 0,
        created=discrepancy.created,
        source=_number(SOURCES, discrepancy.source),
    )
