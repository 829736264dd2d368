"""WalletService requests -> checked filters; each failure an ApiError naming the field."""

from __future__ import annotations

from paycore import validation
from paycore.ids import Prefix
from paycore.v1 import wallet_pb2
from paycore.wallet.service import TransactionFilters
from paycore.wallet.servicer.messages import TYPES

SOURCE_LENGTH_MAX = 64
_TYPES_BY_NUMBER: dict[int, str] = {
    wallet_pb2.BALANCE_TRANSACTION_TYPE_UNSPECIFIED: "",
    **{number: name for name, number in TYPES.items()},
}


def seller_account(value: str) -> str:
    return validation.object_id("account", value, Prefix.ACCOUNT, required=False)


def transaction_filters(
    request: wallet_pb2.ListBalanceTransactionsRequest,
) -> TransactionFilters:
    return TransactionFilters(
        seller_account=seller_account(request.account),
        type=_TYPES_BY_NUMBER[validation.enum_value("type", request.type, _TYPES_BY_NUMBER)],
        currency=validation.currency("currency", request.currency) if request.currency else "",
        source=validation.text("source", request.source, maximum=SOURCE_LENGTH_MAX),
    )
