"""Ledger dataclasses -> LedgerService messages (paycore.runtime.messages fills the fields
whose names match; these name only what differs)."""

from __future__ import annotations

from paycore.ledger.models import (
    Account,
    Entry,
    IntegrityReport,
    Outcome,
    Transfer,
    TransferKind,
)
from paycore.runtime.messages import converts, derived, message_of
from paycore.v1 import ledger_pb2


@converts(ledger_pb2.PostTransfersResponse)
def results_message(outcomes: list[Outcome]) -> ledger_pb2.PostTransfersResponse:
    result = ledger_pb2.PostTransfersResponse.Result
    return ledger_pb2.PostTransfersResponse(
        results=[message_of(result, outcome) for outcome in outcomes]
    )


account_message = derived(Account, ledger_pb2.LedgerAccount)


@converts(ledger_pb2.LedgerTransfer)
def transfer_message(transfer: Transfer) -> ledger_pb2.LedgerTransfer:
    """The transfer as a request would have asked for it: `pending`, or the pending transfer a
    post or void names."""
    return message_of(
        ledger_pb2.LedgerTransfer,
        transfer,
        pending=transfer.kind is TransferKind.PENDING,
        post_pending_id=transfer.pending_id if transfer.kind is TransferKind.POST_PENDING else "",
        void_pending_id=transfer.pending_id if transfer.kind is TransferKind.VOID_PENDING else "",
    )


@converts(ledger_pb2.LedgerEntry)
def entry_message(entry: Entry) -> ledger_pb2.LedgerEntry:
    direction = "debit" if entry.is_debit else "credit"
    return message_of(ledger_pb2.LedgerEntry, entry, direction=direction)


@converts(ledger_pb2.IntegrityReport)
def integrity_message(report: IntegrityReport) -> ledger_pb2.IntegrityReport:
    totals = ledger_pb2.IntegrityReport.CurrencyTotals
    return message_of(
        ledger_pb2.IntegrityReport,
        report,
        currencies=[
            totals(currency=currency, balances=message_of(ledger_pb2.LedgerBalances, balances))
            for currency, balances in sorted(report.currencies.items())
        ],
    )
