"""Ledger dataclasses -> LedgerService messages."""

from __future__ import annotations

from paycore.ledger.models import (
    Account,
    AccountType,
    Balances,
    Entry,
    IntegrityReport,
    Outcome,
    Transfer,
    TransferResult,
    TransferStatus,
)
from paycore.v1 import ledger_pb2

ACCOUNT_TYPES = {
    AccountType.ASSET: ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET,
    AccountType.LIABILITY: ledger_pb2.LEDGER_ACCOUNT_TYPE_LIABILITY,
    AccountType.EQUITY: ledger_pb2.LEDGER_ACCOUNT_TYPE_EQUITY,
    AccountType.REVENUE: ledger_pb2.LEDGER_ACCOUNT_TYPE_REVENUE,
    AccountType.EXPENSE: ledger_pb2.LEDGER_ACCOUNT_TYPE_EXPENSE,
}
_STATUSES = {
    TransferStatus.POSTED: ledger_pb2.LEDGER_TRANSFER_STATUS_POSTED,
    TransferStatus.PENDING: ledger_pb2.LEDGER_TRANSFER_STATUS_PENDING,
    TransferStatus.VOIDED: ledger_pb2.LEDGER_TRANSFER_STATUS_VOIDED,
    TransferStatus.EXPIRED: ledger_pb2.LEDGER_TRANSFER_STATUS_EXPIRED,
}
_RESULTS = {
    result: ledger_pb2.LedgerTransferResult.Value(f"LEDGER_TRANSFER_RESULT_{result.name}")
    for result in TransferResult
}


def results_message(outcomes: list[Outcome]) -> ledger_pb2.PostTransfersResponse:
    result_message = ledger_pb2.PostTransfersResponse.Result
    return ledger_pb2.PostTransfersResponse(
        results=[
            result_message(id=outcome.id, result=_RESULTS[outcome.result], message=outcome.message)
            for outcome in outcomes
        ]
    )


def balances_message(balances: Balances) -> ledger_pb2.LedgerBalances:
    return ledger_pb2.LedgerBalances(
        debits_posted=balances.debits_posted,
        credits_posted=balances.credits_posted,
        debits_pending=balances.debits_pending,
        credits_pending=balances.credits_pending,
    )


def account_message(account: Account) -> ledger_pb2.LedgerAccount:
    return ledger_pb2.LedgerAccount(
        id=account.id,
        merchant=account.merchant_id,
        code=account.code,
        type=ACCOUNT_TYPES[account.type],
        currency=account.currency,
        balances=balances_message(account.balances),
        debits_must_not_exceed_credits=account.debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=account.credits_must_not_exceed_debits,
        created=account.created,
        metadata=account.metadata,
    )


def transfer_message(transfer: Transfer) -> ledger_pb2.LedgerTransfer:
    kind = transfer.kind.value
    return ledger_pb2.LedgerTransfer(
        id=transfer.id,
        debit_account=transfer.debit_account_id,
        credit_account=transfer.credit_account_id,
        amount=transfer.amount,
        currency=transfer.currency,
        pending=kind == "pending",
        post_pending_id=transfer.pending_id if kind == "post_pending" else "",
        void_pending_id=transfer.pending_id if kind == "void_pending" else "",
        timeout_seconds=transfer.timeout_seconds,
        code=transfer.code,
        metadata=transfer.metadata,
        status=_STATUSES[transfer.status],
        resolved_by=transfer.resolved_by,
        expires_at=transfer.expires_at or 0,
        created=transfer.created,
    )


def entry_message(entry: Entry) -> ledger_pb2.LedgerEntry:
    return ledger_pb2.LedgerEntry(
        id=entry.id,
        account=entry.account_id,
        transfer=entry.transfer_id,
        kind=ledger_pb2.LedgerEntryKind.Value(f"LEDGER_ENTRY_KIND_{entry.kind.name}"),
        direction=(
            ledger_pb2.LEDGER_ENTRY_DIRECTION_DEBIT
            if entry.is_debit
            else ledger_pb2.LEDGER_ENTRY_DIRECTION_CREDIT
        ),
        amount=entry.amount,
        currency=entry.currency,
        code=entry.code,
        balances=balances_message(entry.balances),
        created=entry.created,
    )


def integrity_message(report: IntegrityReport) -> ledger_pb2.IntegrityReport:
    return ledger_pb2.IntegrityReport(
        ok=report.ok,
        checked=report.checked,
        account_count=report.account_count,
        transfer_count=report.transfer_count,
        currencies=[
            ledger_pb2.IntegrityReport.CurrencyTotals(
                currency=currency, balances=balances_message(balances)
            )
            for currency, balances in sorted(report.currencies.items())
        ],
        mismatches=[
            ledger_pb2.IntegrityReport.Mismatch(
                kind=ledger_pb2.IntegrityMismatchKind.Value(
                    f"INTEGRITY_MISMATCH_KIND_{mismatch.kind.name}"
                ),
                currency=mismatch.currency,
                account=mismatch.account_id,
                transfer=mismatch.transfer_id,
                field=mismatch.field,
                expected=mismatch.expected,
                actual=mismatch.actual,
                message=mismatch.message,
            )
            for mismatch in report.mismatches
        ],
    )
