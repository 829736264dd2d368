"""LedgerService requests -> checked ledger dataclasses; each failure an ApiError naming the
field, raised before anything changes."""

from __future__ import annotations

import re

from paycore import validation
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.ledger.models import AccountType, NewAccount, TransferRequest
from paycore.ledger.service import BATCH_TRANSFERS_MAX
from paycore.runtime.messages import by_number
from paycore.runtime.servicing import acting_merchant
from paycore.v1 import ledger_pb2

CODE_LENGTH_MAX = 64
TIMEOUT_SECONDS_MAX = 10 * 366 * 86_400
_CODE = re.compile(r"^[a-z0-9_]+$")
_ACCOUNT_TYPES_BY_NUMBER = by_number(AccountType, ledger_pb2.LedgerAccountType)


def new_account(request: ledger_pb2.CreateAccountRequest) -> NewAccount:
    merchant_id = validation.object_id("merchant", request.merchant, Prefix.ACCOUNT)
    _require_own_merchant(merchant_id)
    validation.enum_value(
        "type", request.type, _ACCOUNT_TYPES_BY_NUMBER, ledger_pb2.LedgerAccountType
    )
    if request.debits_must_not_exceed_credits and request.credits_must_not_exceed_debits:
        raise invalid("credits_must_not_exceed_debits", "at most one of the two flags")
    return NewAccount(
        merchant_id=merchant_id,
        code=code("code", request.code, required=True),
        type=_ACCOUNT_TYPES_BY_NUMBER[request.type],
        currency=validation.currency("currency", request.currency),
        debits_must_not_exceed_credits=request.debits_must_not_exceed_credits,
        credits_must_not_exceed_debits=request.credits_must_not_exceed_debits,
        metadata=validation.metadata("metadata", request.metadata),
    )


def transfers(request: ledger_pb2.PostTransfersRequest) -> list[TransferRequest]:
    count = len(request.transfers)
    if not 1 <= count <= BATCH_TRANSFERS_MAX:
        raise invalid("transfers", f"between 1 and {BATCH_TRANSFERS_MAX} transfers")
    return [
        transfer_request(f"transfers[{index}]", transfer)
        for index, transfer in enumerate(request.transfers)
    ]


def optional_currency(value: str) -> str:
    return validation.currency("currency", value) if value else ""


def listed_merchant(value: str) -> str:
    """The merchant whose objects a list or check covers: the caller's own, else the one named
    (an operator acting for none may name any, or none for all)."""
    return acting_merchant() or validation.object_id(
        "merchant", value, Prefix.ACCOUNT, required=False
    )


def _require_own_merchant(merchant_id: str) -> None:
    own = acting_merchant()
    if own and own != merchant_id:
        raise invalid("merchant", "differs from the merchant named in paycore-merchant")


def code(param: str, value: str, *, required: bool = False) -> str:
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
        code=code(f"{param}.code", transfer.code),
        linked=transfer.linked,
        metadata=validation.metadata(f"{param}.metadata", metadata) if metadata else {},
    )
