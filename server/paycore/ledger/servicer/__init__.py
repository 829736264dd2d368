"""LedgerService over gRPC: request -> checks (requests.py) -> domain call -> message
(messages.py), nothing more. Changes run through Mutations, which opens their transaction,
except PostTransfers without a key: the coalescer batches those into the ledger's own
transactions (paycore.ledger.coalescer)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import validation
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.ledger.coalescer import Coalescer
from paycore.ledger.service import LedgerService
from paycore.ledger.servicer import requests
from paycore.ledger.servicer.messages import (
    account_message,
    entry_message,
    integrity_message,
    results_message,
    transfer_message,
)
from paycore.runtime.context import current_call
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    Context,
    Rpcs,
    acting_merchant,
    add_servicer,
    cursor_of,
    page_response,
)
from paycore.v1 import ledger_pb2, ledger_pb2_grpc

rpcs: Rpcs[LedgerServicer] = Rpcs()


@dataclass(frozen=True, slots=True)
class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    _service: LedgerService
    _coalescer: Coalescer
    _mutations: Mutations

    async def CreateAccount(
        self, request: ledger_pb2.CreateAccountRequest, context: Context
    ) -> ledger_pb2.LedgerAccount:
        new = requests.new_account(request)
        create = self._service.create_account
        return await self._mutations.for_merchant(
            new.merchant_id, request, account_message, lambda connection: create(connection, new)
        )

    GetAccount = rpcs.get_acting(
        Prefix.LEDGER_ACCOUNT, lambda s: s._service.get_account, account_message
    )

    async def ListAccounts(
        self, request: ledger_pb2.ListAccountsRequest, context: Context
    ) -> ledger_pb2.ListAccountsResponse:
        merchant_id = requests.listed_merchant(request.merchant)
        code = requests.code("code", request.code)
        currency = requests.optional_currency(request.currency)
        cursor = cursor_of(request, Prefix.LEDGER_ACCOUNT)
        page = await self._service.list_accounts(merchant_id, code, currency, cursor)
        return page_response(ledger_pb2.ListAccountsResponse, page, account_message)

    async def PostTransfers(
        self, request: ledger_pb2.PostTransfersRequest, context: Context
    ) -> ledger_pb2.PostTransfersResponse:
        transfers = requests.transfers(request)
        merchant_id = acting_merchant()
        # A batch refused transfer by transfer stores nothing, as any invalid request: its
        # results, not a call-level error, whether or not it carries a key.
        if current_call().idempotency_key is None or self._service.writes_nothing(transfers):
            return results_message(await self._coalescer.post(merchant_id, transfers))
        logical_shard = self._service.logical_shard_of_transfers(transfers)
        if logical_shard is None:
            raise invalid(
                "transfers", "with an idempotency-key, every transfer must be one merchant's"
            )
        return await self._mutations.for_object(
            logical_shard,
            merchant_id,
            request,
            results_message,
            lambda connection: self._service.post_in(connection, merchant_id, transfers),
        )

    GetTransfer = rpcs.get_acting(
        Prefix.LEDGER_TRANSFER, lambda s: s._service.get_transfer, transfer_message
    )

    async def ListEntries(
        self, request: ledger_pb2.ListEntriesRequest, context: Context
    ) -> ledger_pb2.ListEntriesResponse:
        account_id = validation.object_id("account", request.account, Prefix.LEDGER_ACCOUNT)
        cursor = cursor_of(request, Prefix.LEDGER_ENTRY)
        page = await self._service.list_entries(acting_merchant(), account_id, cursor)
        return page_response(ledger_pb2.ListEntriesResponse, page, entry_message)

    async def CheckIntegrity(
        self, request: ledger_pb2.CheckIntegrityRequest, context: Context
    ) -> ledger_pb2.IntegrityReport:
        merchant_id = requests.listed_merchant(request.merchant)
        currency = requests.optional_currency(request.currency)
        return integrity_message(await self._service.check_integrity(merchant_id, currency))


def register(
    server: aio.Server, service: LedgerService, coalescer: Coalescer, mutations: Mutations
) -> str:
    """Adds LedgerService to `server`; returns its full name."""
    add = ledger_pb2_grpc.add_LedgerServiceServicer_to_server
    return add_servicer(server, add, LedgerServicer(service, coalescer, mutations))
