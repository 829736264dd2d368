"""Reconciliation dataclasses -> ReconciliationService messages, and the enums both ways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paycore.reconciliation.models import Action, Discrepancy, Kind, Run, RunStatus, Source, Status
from paycore.runtime.messages import by_number
from paycore.v1 import reconciliation_pb2 as pb

SOURCES = by_number(Source, pb.ReconciliationSource)
KINDS = by_number(Kind, pb.DiscrepancyKind)
STATUSES = by_number(Status, pb.DiscrepancyStatus)
ACTIONS = by_number(Action, pb.DiscrepancyAction)
_RUN_STATUSES = by_number(RunStatus, pb.ReconciliationRunStatus)


def _number(mapping: Mapping[int, object], value: object) -> Any:
    """The proto enum number of a domain value."""
    return next(number for number, known in mapping.items() if known == value)


def run_message(run: Run) -> pb.ReconciliationRun:
    return pb.ReconciliationRun(
        id=run.id,
        date=run.day.isoformat(),
        psp="simulator",
        status=_number(_RUN_STATUSES, run.status),
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
