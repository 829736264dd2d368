"""LedgerService over gRPC: request -> checks -> domain call -> response, nothing more."""

from __future__ import annotations

import re
from typing import Any

from grpc import aio
from paycore import validation
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.ledger.coalescer import Coalescer
from paycore.ledger.models import (
    Account,
    AccountType,
    Balances,
    Entry,
    IntegrityReport,
    NewAccount,
    Outcome,
    Transfer,
    TransferRequest,
    TransferResult,
    TransferStatus,
)
from paycore.ledger.service import BATCH_TRANSFERS_MAX, LedgerService
from paycore.runtime.context import current_call
from paycore.runtime.mutations import ADMIN_OWNER, Mutations
from paycore.v1 import ledger_pb2, ledger_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

Context = aio.ServicerContext[Any, Any]
CODE_LENGTH_MAX = 64
TIMEOUT_SECONDS_MAX = 10 * 366 * 86_400
_CODE = re.compile(r"^[a-z0-9_]+$")
_ACCOUNT_TYPES = {
    AccountType.ASSET: ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET,
    AccountType.LIABILITY: ledger_pb2.LEDGER_ACCOUNT_TYPE_LIABILITY,
    AccountType.EQUITY: ledger_pb2.LEDGER_ACCOUNT_TYPE_EQUITY,
    AccountType.REVENUE: ledger_pb2.LEDGER_ACCOUNT_TYPE_REVENUE,
    AccountType.EXPENSE: ledger_pb2.LEDGER_ACCOUNT_TYPE_EXPENSE,
}
_ACCOUNT_TYPES_BY_NUMBER: dict[int, AccountType] = {
    number: kind for kind, number in _ACCOUNT_TYPES.items()
}
_STATUSES = {
    TransferStatus.POSTED: ledger_pb2.LEDGER_TRANSFER_STATUS_POSTED,
    TransferStatus.PENDING: ledger_pb2.LEDGER_TRANSFER_STATUS_PENDING,
    TransferStatus.VOIDED: ledger_pb2.LEDGER_TRANSFER_STATUS_VOIDED,
    TransferStatus.EXPIRED: ledger_pb2.LEDGER_TRANSFER_STATUS_EXPIRED,
}


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, service: LedgerService, coalescer: Coalescer, mutations: Mutations) -> None:
        self._service = service
        self._coalescer = coalescer
        self._mutations = mutations

    async def CreateAccount(
        self, request: ledger_pb2.CreateAccountRequest, context: Context
    ) -> ledger_pb2.LedgerAccount:
        merchant_id = validation.object_id("merchant", request.merchant, Prefix.ACCOUNT)
        _require_own_merchant(merchant_id)
        validation.enum_value("type", request.type, _ACCOUNT_TYPES_BY_NUMBER)
        if request.debits_must_not_exceed_credits and request.credits_must_not_exceed_debits:
            raise invalid("credits_must_not_exceed_debits", "at most one of the two flags")
        new = NewAccount(
            merchant_id=merchant_id,
            code=_code("code", request.code, required=True),
            type=_ACCOUNT_TYPES_BY_NUMBER[request.type],
            currency=validation.currency("currency", request.currency),
            debits_must_not_exceed_credits=request.debits_must_not_exceed_credits,
            credits_must_not_exceed_debits=request.credits_must_not_exceed_debits,
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> ledger_pb2.LedgerAccount:
            return account_message(await self._service.create_account(connection, new))

        return await self._mutations.for_merchant(
            merchant_id, request, ledger_pb2.LedgerAccount, change
        )

    async def GetAccount(
        self, request: ledger_pb2.GetAccountRequest, context: Context
    ) -> ledger_pb2.LedgerAccount:
        account_id = validation.object_id("id", request.id, Prefix.LEDGER_ACCOUNT)
        return account_message(await self._service.get_account(account_id, _acting_for()))

    async def ListAccounts(
        self, request: ledger_pb2.ListAccountsRequest, context: Context
    ) -> ledger_pb2.ListAccountsResponse:
        merchant_id = _acting_for() or validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        accounts, has_more = await self._service.list_accounts(
            merchant_id,
            _code("code", request.code),
            validation.currency("currency", request.currency) if request.currency else "",
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.LEDGER_ACCOUNT, required=False
            ),
        )
        return ledger_pb2.ListAccountsResponse(
            data=[account_message(account) for account in accounts], has_more=has_more
        )

    async def PostTransfers(
        self, request: ledger_pb2.PostTransfersRequest, context: Context
    ) -> ledger_pb2.PostTransfersResponse:
        count = len(request.transfers)
        if not 1 <= count <= BATCH_TRANSFERS_MAX:
            raise invalid("transfers", f"between 1 and {BATCH_TRANSFERS_MAX} transfers")
        transfers = [
            transfer_request(f"transfers[{index}]", transfer)
            for index, transfer in enumerate(request.transfers)
        ]
        merchant_id = _acting_for()
        call = current_call()
        if call.idempotency_key is None:
            return results_message(await self._coalescer.post(transfers, merchant_id))
        engine = self._service.engine_for_transfers(transfers)
        if engine is None:
            raise invalid(
                "transfers", "with an idempotency-key, every transfer must be one merchant's"
            )

        async def change(connection: AsyncConnection) -> ledger_pb2.PostTransfersResponse:
            outcomes = await self._service.post_in(connection, transfers, merchant_id)
            return results_message(outcomes)

        return await self._mutations.on_engine(
            engine,
            merchant_id or ADMIN_OWNER,
            request,
            ledger_pb2.PostTransfersResponse,
            change,
        )

    async def GetTransfer(
        self, request: ledger_pb2.GetTransferRequest, context: Context
    ) -> ledger_pb2.LedgerTransfer:
        transfer_id = validation.object_id("id", request.id, Prefix.LEDGER_TRANSFER)
        return transfer_message(await self._service.get_transfer(transfer_id, _acting_for()))

    async def ListEntries(
        self, request: ledger_pb2.ListEntriesRequest, context: Context
    ) -> ledger_pb2.ListEntriesResponse:
        entries, has_more = await self._service.list_entries(
            validation.object_id("account", request.account, Prefix.LEDGER_ACCOUNT),
            _acting_for(),
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.LEDGER_ENTRY, required=False
            ),
        )
        return ledger_pb2.ListEntriesResponse(
            data=[entry_message(entry) for entry in entries], has_more=has_more
        )

    async def CheckIntegrity(
        self, request: ledger_pb2.CheckIntegrityRequest, context: Context
    ) -> ledger_pb2.IntegrityReport:
        merchant_id = _acting_for() or validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        currency = validation.currency("currency", request.currency) if request.currency else ""
        return integrity_message(await self._service.check_integrity(merchant_id, currency))


def _acting_for() -> str | None:
    caller = current_call().caller
    return caller.merchant_id if caller else None


def _require_own_merchant(merchant_id: str) -> None:
    own = _acting_for()
    if own and own != merchant_id:
        raise invalid("merchant", "differs from the merchant named in paycore-merchant")


def _code(param: str, value: str, *, required: bool = False) -> str:
    value = validation.text(param, value, maximum=CODE_LENGTH_MAX, required=required)
    if value and not _CODE.match(value):
        raise invalid(param, "lowercase letters, digits and underscores only")
    return value


def transfer_request(param: str, transfer: ledger_pb2.LedgerTransfer) -> TransferRequest:
    """A transfer's fields checked; `param` names it in errors (transfers[i]). On the hot path
    (a thousand per batch): each field is read from the message once, and a field's parameter
    name is only spelled out when the field is there to check."""
    post_pending_id = transfer.post_pending_id
    void_pending_id = transfer.void_pending_id
    resolving = bool(post_pending_id or void_pending_id)
    currency = transfer.currency
    if currency or not resolving:
        currency = validation.currency(f"{param}.currency", currency)
    amount = transfer.amount
    if amount > 0 and currency:
        validation.amount(f"{param}.amount", amount, currency)
    timeout_seconds = transfer.timeout_seconds
    if not 0 <= timeout_seconds <= TIMEOUT_SECONDS_MAX:
        raise invalid(f"{param}.timeout_seconds", f"between 0 and {TIMEOUT_SECONDS_MAX}")
    debit_account = transfer.debit_account
    credit_account = transfer.credit_account
    for name, value, prefix in (
        ("debit_account", debit_account, Prefix.LEDGER_ACCOUNT),
        ("credit_account", credit_account, Prefix.LEDGER_ACCOUNT),
        ("post_pending_id", post_pending_id, Prefix.LEDGER_TRANSFER),
        ("void_pending_id", void_pending_id, Prefix.LEDGER_TRANSFER),
    ):
        required = not resolving and name.endswith("account")
        if value or required:
            validation.object_id(f"{param}.{name}", value, prefix, required=required)
    metadata = transfer.metadata
    return TransferRequest(
        id=transfer.id,
        debit_account_id=debit_account,
        credit_account_id=credit_account,
        amount=amount,
        currency=currency,
        pending=transfer.pending,
        post_pending_id=post_pending_id,
        void_pending_id=void_pending_id,
        timeout_seconds=timeout_seconds,
        code=_code(f"{param}.code", transfer.code),
        linked=transfer.linked,
        metadata=validation.metadata(f"{param}.metadata", metadata) if metadata else {},
    )


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
        type=_ACCOUNT_TYPES[account.type],
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
