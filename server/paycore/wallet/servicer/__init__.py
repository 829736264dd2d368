"""WalletService over gRPC: request -> checks -> domain call -> response, nothing more."""

from __future__ import annotations

from typing import Any

from grpc import aio
from paycore import validation
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.v1 import common_pb2, wallet_pb2, wallet_pb2_grpc
from paycore.wallet.service import BalanceTransaction, WalletService

Context = aio.ServicerContext[Any, Any]
_TYPES = {
    "payment": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT,
    "refund": wallet_pb2.BALANCE_TRANSACTION_TYPE_REFUND,
    "application_fee": wallet_pb2.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE,
    "transfer": wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER,
    "payout": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT,
    "payout_cancel": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_CANCEL,
    "payout_failure": wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE,
    "adjustment": wallet_pb2.BALANCE_TRANSACTION_TYPE_ADJUSTMENT,
}
_TYPES_BY_NUMBER: dict[int, str] = {
    wallet_pb2.BALANCE_TRANSACTION_TYPE_UNSPECIFIED: "",
    **{number: name for name, number in _TYPES.items()},
}


class WalletServicer(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, service: WalletService) -> None:
        self._service = service

    async def GetBalance(
        self, request: wallet_pb2.GetBalanceRequest, context: Context
    ) -> wallet_pb2.Balance:
        merchant_id = current_call().require_merchant()
        account = validation.object_id("account", request.account, Prefix.ACCOUNT, required=False)
        balance = await self._service.get_balance(merchant_id, account)
        return wallet_pb2.Balance(
            account=account,
            available=[
                common_pb2.Money(amount=amount, currency=currency)
                for currency, amount in sorted(balance.available.items())
            ],
            pending=[
                common_pb2.Money(amount=amount, currency=currency)
                for currency, amount in sorted(balance.pending.items())
            ],
        )

    async def ListBalanceTransactions(
        self, request: wallet_pb2.ListBalanceTransactionsRequest, context: Context
    ) -> wallet_pb2.ListBalanceTransactionsResponse:
        merchant_id = current_call().require_merchant()
        validation.enum_value("type", request.type, _TYPES_BY_NUMBER)
        transactions, has_more = await self._service.list_transactions(
            merchant_id,
            validation.object_id("account", request.account, Prefix.ACCOUNT, required=False),
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after",
                request.starting_after,
                Prefix.BALANCE_TRANSACTION,
                required=False,
            ),
            _TYPES_BY_NUMBER[request.type],
            validation.currency("currency", request.currency) if request.currency else "",
            validation.text("source", request.source, maximum=64),
        )
        return wallet_pb2.ListBalanceTransactionsResponse(
            data=[transaction_message(transaction) for transaction in transactions],
            has_more=has_more,
        )

    async def GetBalanceTransaction(
        self, request: wallet_pb2.GetBalanceTransactionRequest, context: Context
    ) -> wallet_pb2.BalanceTransaction:
        merchant_id = current_call().require_merchant()
        transaction_id = validation.object_id("id", request.id, Prefix.BALANCE_TRANSACTION)
        return transaction_message(await self._service.get_transaction(merchant_id, transaction_id))


def transaction_message(transaction: BalanceTransaction) -> wallet_pb2.BalanceTransaction:
    return wallet_pb2.BalanceTransaction(
        id=transaction.id,
        amount=transaction.amount,
        currency=transaction.currency,
        fee=transaction.fee,
        net=transaction.net,
        type=_TYPES[transaction.type],
        status=(
            wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
            if transaction.available
            else wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING
        ),
        available_on=transaction.created,
        source=transaction.source,
        description=transaction.description,
        created=transaction.created,
    )
