"""Reconciliation dataclasses -> ReconciliationService messages."""

from __future__ import annotations

from paycore.reconciliation.models import Discrepancy, Run
from paycore.runtime.messages import converts, message_of
from paycore.v1 import reconciliation_pb2 as pb


@converts(pb.ReconciliationRun)
def run_message(run: Run) -> pb.ReconciliationRun:
    return message_of(
        pb.ReconciliationRun,
        run,
        date=run.day.isoformat(),
        psp="simulator",
        settlement_record_count=run.record_count,
    )


@converts(pb.Discrepancy)
def discrepancy_message(discrepancy: Discrepancy) -> pb.Discrepancy:
    return message_of(
        pb.Discrepancy,
        discrepancy,
        date=discrepancy.day.isoformat(),
        merchant=discrepancy.merchant_id if discrepancy.merchant_id.startswith("acct_") else "",
        objects=discrepancy.object_ids,
        psp_reference=discrepancy.reference,
        currency=discrepancy.internal_currency or discrepancy.psp_currency,
        resolution=discrepancy.note,
        ledger_transfer=discrepancy.ledger_transfer_ids[0]
        if discrepancy.ledger_transfer_ids
        else "",
        ledger_transfers=discrepancy.ledger_transfer_ids,
    )
