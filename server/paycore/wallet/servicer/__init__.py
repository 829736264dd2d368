"""WalletService over gRPC: request -> checks (requests.py) -> domain read -> message
(messages.py), nothing more. The wallet only reads (its money moves through the ledger)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.servicing import Context, Rpcs, add_servicer, cursor_of, page_response
from paycore.v1 import wallet_pb2, wallet_pb2_grpc
from paycore.wallet.service import WalletService
from paycore.wallet.servicer import requests
from paycore.wallet.servicer.messages import balance_message, transaction_message

rpcs: Rpcs[WalletServicer] = Rpcs()


@dataclass(frozen=True, slots=True)
class WalletServicer(wallet_pb2_grpc.WalletServiceServicer):
    _service: WalletService

    async def GetBalance(
        self, request: wallet_pb2.GetBalanceRequest, context: Context
    ) -> wallet_pb2.Balance:
        merchant_id = current_call().require_merchant()
        account = requests.seller_account(request.account)
        return balance_message(account, await self._service.get_balance(merchant_id, account))

    async def ListBalanceTransactions(
        self, request: wallet_pb2.ListBalanceTransactionsRequest, context: Context
    ) -> wallet_pb2.ListBalanceTransactionsResponse:
        merchant_id = current_call().require_merchant()
        filters = requests.transaction_filters(request)
        cursor = cursor_of(request, Prefix.BALANCE_TRANSACTION)
        page = await self._service.list_transactions(merchant_id, filters, cursor)
        return page_response(wallet_pb2.ListBalanceTransactionsResponse, page, transaction_message)

    GetBalanceTransaction = rpcs.get(
        Prefix.BALANCE_TRANSACTION, lambda s: s._service.get_transaction, transaction_message
    )


def register(server: aio.Server, service: WalletService) -> str:
    """Adds WalletService to `server`; returns its full name."""
    add = wallet_pb2_grpc.add_WalletServiceServicer_to_server
    return add_servicer(server, add, WalletServicer(service))
