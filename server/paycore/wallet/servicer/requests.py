"""WalletService requests -> checked filters; each failure an ApiError naming the field."""

from __future__ import annotations

from paycore import validation
from paycore.ids import Prefix
from paycore.payout.models import BalanceFilter, BalanceType
from paycore.v1 import wallet_pb2

SOURCE_LENGTH_MAX = 64
_TYPES: dict[int, BalanceType | None] = {
    wallet_pb2.BALANCE_TRANSACTION_TYPE_UNSPECIFIED: None,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT: BalanceType.PAYMENT,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_REFUND: BalanceType.REFUND,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE: BalanceType.APPLICATION_FEE,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER: BalanceType.TRANSFER,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT: BalanceType.PAYOUT,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_CANCEL: BalanceType.PAYOUT_CANCEL,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE: BalanceType.PAYOUT_FAILURE,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_ADJUSTMENT: BalanceType.ADJUSTMENT,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_FX_GAIN_LOSS: BalanceType.FX_GAIN_LOSS,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER_REVERSAL: BalanceType.TRANSFER_REVERSAL,
    wallet_pb2.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND: BalanceType.APPLICATION_FEE_REFUND,
}


def seller_account(value: str) -> str:
    return validation.object_id("account", value, Prefix.ACCOUNT, required=False)


def transaction_filters(request: wallet_pb2.ListBalanceTransactionsRequest) -> BalanceFilter:
    validation.enum_value("type", request.type, _TYPES, wallet_pb2.BalanceTransactionType)
    return BalanceFilter(
        account=seller_account(request.account),
        type=_TYPES[request.type],
        currency=validation.currency("currency", request.currency) if request.currency else "",
        source=validation.text("source", request.source, maximum=SOURCE_LENGTH_MAX),
        payout_id=validation.object_id("payout", request.payout, Prefix.PAYOUT, required=False),
    )
