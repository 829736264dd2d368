"""WalletService requests -> checked filters; each failure an ApiError naming the field."""

from __future__ import annotations

from paycore import validation
from paycore.ids import Prefix
from paycore.payout.models import BalanceFilter, BalanceType
from paycore.runtime.messages import by_number_or_none, member
from paycore.v1 import wallet_pb2

SOURCE_LENGTH_MAX = 64
_TYPES = by_number_or_none(BalanceType, wallet_pb2.BalanceTransactionType)


def seller_account(value: str) -> str:
    return validation.object_id("account", value, Prefix.ACCOUNT, required=False)


def transaction_filters(request: wallet_pb2.ListBalanceTransactionsRequest) -> BalanceFilter:
    balance_type = member("type", request.type, _TYPES, wallet_pb2.BalanceTransactionType)
    return BalanceFilter(
        account=seller_account(request.account),
        type=balance_type,
        currency=validation.currency("currency", request.currency) if request.currency else "",
        source=validation.text("source", request.source, maximum=SOURCE_LENGTH_MAX),
        payout_id=validation.object_id("payout", request.payout, Prefix.PAYOUT, required=False),
    )
