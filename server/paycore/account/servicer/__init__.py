"""AccountService over gRPC: request -> checks (requests.py) -> domain call -> message
(messages.py), nothing more. Changes run through Mutations, which opens their transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from grpc import aio
from paycore import validation
from paycore.account.authentication import Authenticator
from paycore.account.service import AccountService
from paycore.account.servicer import requests
from paycore.account.servicer.messages import (
    api_key_message,
    created_merchant_message,
    fee_plan_message,
    issued_key_message,
    merchant_message,
    seller_account_message,
)
from paycore.ids import Prefix, shard_account_id
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.messages import Converter
from paycore.runtime.mutations import Mutations, ResultT
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    add_servicer,
    cursor_of,
    merchant_and_id,
    page_response,
)
from paycore.storage import Shards
from paycore.v1 import account_pb2, account_pb2_grpc

RESTRICTED = CallerKind.RESTRICTED_KEY


rpcs: ChangingRpcs[AccountServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class AccountServicer(account_pb2_grpc.AccountServiceServicer):
    _service: AccountService
    _shards: Shards
    _mutations: Mutations
    _authenticator: Authenticator

    async def CreateMerchant(
        self, request: account_pb2.CreateMerchantRequest, context: Context
    ) -> account_pb2.Merchant:
        new = requests.new_merchant(request)
        # With an idempotency key the shard follows from the key, so a replay finds its answer.
        logical_shard = self._shards.logical_shard_for_new_merchant(current_call().idempotency_key)
        return await self._mutations.for_operator(
            shard_account_id(logical_shard),  # the key's owner moves with the logical shard
            request,
            created_merchant_message,
            lambda connection: self._service.create_merchant(connection, logical_shard, new),
        )

    async def GetMerchant(
        self, request: account_pb2.GetMerchantRequest, context: Context
    ) -> account_pb2.Merchant:
        merchant_id = requests.readable_merchant("id", request.id or requests.own_merchant())
        return merchant_message(await self._service.get_merchant(merchant_id))

    async def GetFeePlan(
        self, request: account_pb2.GetFeePlanRequest, context: Context
    ) -> account_pb2.FeePlan:
        merchant_id = requests.readable_merchant("merchant", request.merchant)
        plan, default = await self._service.fee_plan(merchant_id)
        return fee_plan_message(merchant_id, plan, default)

    async def UpdateFeePlan(
        self, request: account_pb2.UpdateFeePlanRequest, context: Context
    ) -> account_pb2.FeePlan:
        merchant_id = validation.object_id("merchant", request.merchant, Prefix.ACCOUNT)
        plan = requests.fee_plan(request)
        own = partial(fee_plan_message, merchant_id, default=False)  # its own, not the default
        return await self._mutations.for_operator(
            merchant_id,
            request,
            Converter(account_pb2.FeePlan, own),
            lambda connection: self._service.update_fee_plan(connection, merchant_id, plan),
        )

    CreateSellerAccount = rpcs.change(
        seller_account_message,
        lambda s: s._service.create_seller_account,
        requests.new_seller_account,
    )

    GetSellerAccount = rpcs.get(
        Prefix.ACCOUNT, lambda s: s._service.get_seller_account, seller_account_message
    )

    ListSellerAccounts = rpcs.list(
        Prefix.ACCOUNT,
        account_pb2.ListSellerAccountsResponse,
        lambda s: s._service.list_seller_accounts,
        seller_account_message,
    )

    async def CreateApiKey(
        self, request: account_pb2.CreateApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        call = current_call()
        merchant_id = call.require_merchant()
        name, scopes = requests.key_name(request), requests.key_scopes(request)
        held = call.caller.scopes if call.caller and call.caller.kind is RESTRICTED else None
        return await self._mutations.answer(
            merchant_id,
            request,
            issued_key_message,
            self._service.create_api_key,
            name,
            scopes,
            held,
        )

    async def RevokeApiKey(
        self, request: account_pb2.RevokeApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        return await self._change_key(request, api_key_message, self._service.revoke_api_key)

    async def RollApiKey(
        self, request: account_pb2.RollApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        return await self._change_key(
            request, issued_key_message, self._service.roll_api_key, request.expires_in_seconds
        )

    async def _change_key(
        self,
        request: account_pb2.RevokeApiKeyRequest | account_pb2.RollApiKeyRequest,
        render: Converter[ResultT, account_pb2.ApiKey],
        change: Callable[..., Awaitable[ResultT]],
        *args: Any,
    ) -> account_pb2.ApiKey:
        """Runs `change(connection, merchant_id, key_id, *args)` on the key `request.id` names,
        then forgets the key's cached entry, which would outlive a revocation or a shorter
        expiry."""
        merchant_id, key_id = merchant_and_id(request.id, Prefix.API_KEY)
        response = await self._mutations.answer(merchant_id, request, render, change, key_id, *args)
        self._authenticator.forget(key_id)
        return response

    async def ListApiKeys(
        self, request: account_pb2.ListApiKeysRequest, context: Context
    ) -> account_pb2.ListApiKeysResponse:
        merchant_id = current_call().require_merchant()
        key_type = requests.key_type_filter(request)
        page = await self._service.list_api_keys(
            merchant_id, cursor_of(request, Prefix.API_KEY), key_type
        )
        return page_response(account_pb2.ListApiKeysResponse, page, api_key_message)


def register(
    server: aio.Server,
    service: AccountService,
    shards: Shards,
    mutations: Mutations,
    authenticator: Authenticator,
) -> str:
    """Adds AccountService to `server`; returns its full name."""
    servicer = AccountServicer(service, shards, mutations, authenticator)
    return add_servicer(server, account_pb2_grpc.add_AccountServiceServicer_to_server, servicer)
