"""WalletService over gRPC: request -> checks -> domain call -> response, nothing more."""

from __future__ import annotations

from typing import Any

from grpc import aio
from paycore import validation
from paycore.ids import Prefix
from paycore.payout.models import BalanceFilter, BalanceType
from paycore.payout.servicer.messages import balance_message, balance_transaction_message
from paycore.runtime.context import current_call
from paycore.runtime.listing import cursor_of, page_response
from paycore.v1 import wallet_pb2, wallet_pb2_grpc
from paycore.wallet.service import WalletService

Context = aio.ServicerContext[Any, Any]
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
}
SOURCE_LENGTH_MAX = 64


class WalletServicer(wallet_pb2_grpc.WalletServiceServicer):
    def __init__(self, service: WalletService) -> None:
        self._service = service

    async def GetBalance(
        self, request: wallet_pb2.GetBalanceRequest, context: Context
    ) -> wallet_pb2.Balance:
        merchant_id = current_call().require_merchant()
        account = validation.object_id("account", request.account, Prefix.ACCOUNT, required=False)
        balance = await self._service.get_balance(merchant_id, account)
        return balance_message(account, balance.available, balance.pending)

    async def ListBalanceTransactions(
        self, request: wallet_pb2.ListBalanceTransactionsRequest, context: Context
    ) -> wallet_pb2.ListBalanceTransactionsResponse:
        merchant_id = current_call().require_merchant()
        validation.enum_value("type", request.type, _TYPES)
        wanted = BalanceFilter(
            account=validation.object_id(
                "account", request.account, Prefix.ACCOUNT, required=False
            ),
            type=_TYPES[request.type],
            currency=validation.currency("currency", request.currency) if request.currency else "",
            source=validation.text("source", request.source, maximum=SOURCE_LENGTH_MAX),
            payout=validation.object_id("payout", request.payout, Prefix.PAYOUT, required=False),
        )
        found = await self._service.list_transactions(
            merchant_id, wanted, cursor_of(request, Prefix.BALANCE_TRANSACTION)
        )
        return page_response(
            wallet_pb2.ListBalanceTransactionsResponse, found, balance_transaction_message
        )

    async def GetBalanceTransaction(
        self, request: wallet_pb2.GetBalanceTransactionRequest, context: Context
    ) -> wallet_pb2.BalanceTransaction:
        merchant_id = current_call().require_merchant()
        transaction_id = validation.object_id("id", request.id, Prefix.BALANCE_TRANSACTION)
        return balance_transaction_message(
            await self._service.get_transaction(merchant_id, transaction_id)
        )
