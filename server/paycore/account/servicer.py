"""AccountService over gRPC: request -> checks -> domain call -> response, nothing more."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message
from grpc import aio
from paycore import validation
from paycore.account.authentication import Authenticator
from paycore.account.fee_plans import BASIS_POINTS, FIXED_AMOUNT_MAX, FeePlan
from paycore.account.models import (
    ApiKey,
    ApiKeyType,
    IssuedKey,
    Merchant,
    NewMerchant,
    NewSellerAccount,
    SellerAccount,
)
from paycore.account.service import AccountService
from paycore.errors import invalid, not_found
from paycore.ids import Prefix
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.mutations import ADMIN_OWNER, Mutations
from paycore.storage import Shards
from paycore.v1 import account_pb2, account_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

Context = aio.ServicerContext[Any, Any]
MessageT = TypeVar("MessageT", bound=Message)
NAME_LENGTH_MAX = 200
RESTRICTED = CallerKind.RESTRICTED_KEY
_KEY_TYPES = {
    ApiKeyType.SECRET: account_pb2.API_KEY_TYPE_SECRET,
    ApiKeyType.PUBLISHABLE: account_pb2.API_KEY_TYPE_PUBLISHABLE,
    ApiKeyType.RESTRICTED: account_pb2.API_KEY_TYPE_RESTRICTED,
}
_KEY_TYPES_BY_NUMBER: dict[int, ApiKeyType | None] = {
    account_pb2.API_KEY_TYPE_UNSPECIFIED: None,
    **{number: key_type for key_type, number in _KEY_TYPES.items()},
}


class AccountServicer(account_pb2_grpc.AccountServiceServicer):
    def __init__(
        self,
        service: AccountService,
        shards: Shards,
        mutations: Mutations,
        authenticator: Authenticator,
    ) -> None:
        self._service = service
        self._shards = shards
        self._mutations = mutations
        self._authenticator = authenticator

    async def CreateMerchant(
        self, request: account_pb2.CreateMerchantRequest, context: Context
    ) -> account_pb2.Merchant:
        new = NewMerchant(
            name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX, required=True),
            email=validation.email("email", request.email),
            country=validation.country("country", request.country),
            default_currency=validation.currency("default_currency", request.default_currency),
            livemode=request.livemode,
            metadata=validation.metadata("metadata", request.metadata),
        )
        # With an idempotency key the shard follows from the key, so a replay finds its answer.
        logical_shard = self._shards.logical_shard_for_new_merchant(current_call().idempotency_key)

        async def change(connection: AsyncConnection) -> account_pb2.Merchant:
            created = await self._service.create_merchant(connection, logical_shard, new)
            response = merchant_message(created.merchant)
            response.secret_key = created.secret_key.secret.reveal()
            response.publishable_key = created.publishable_key.secret.reveal()
            return response

        engine = self._shards.engine_for_logical(logical_shard)
        return await self._mutations.on_engine(
            engine, ADMIN_OWNER, request, account_pb2.Merchant, change, stored_form=without_secrets
        )

    async def GetMerchant(
        self, request: account_pb2.GetMerchantRequest, context: Context
    ) -> account_pb2.Merchant:
        merchant_id = _readable_merchant("id", request.id)
        return merchant_message(await self._service.get_merchant(merchant_id))

    async def GetFeePlan(
        self, request: account_pb2.GetFeePlanRequest, context: Context
    ) -> account_pb2.FeePlan:
        merchant_id = _readable_merchant("merchant", request.merchant)
        plan, default = await self._service.fee_plan(merchant_id)
        return fee_plan_message(merchant_id, plan, default)

    async def UpdateFeePlan(
        self, request: account_pb2.UpdateFeePlanRequest, context: Context
    ) -> account_pb2.FeePlan:
        merchant_id = validation.object_id("merchant", request.merchant, Prefix.ACCOUNT)
        if not 0 <= request.percent_basis_points <= BASIS_POINTS:
            raise invalid("percent_basis_points", f"must be between 0 and {BASIS_POINTS}")
        if not 0 <= request.fixed_amount <= FIXED_AMOUNT_MAX:
            raise invalid("fixed_amount", f"must be between 0 and {FIXED_AMOUNT_MAX}")
        plan = FeePlan(request.percent_basis_points, request.fixed_amount)

        async def change(connection: AsyncConnection) -> account_pb2.FeePlan:
            await self._service.update_fee_plan(connection, merchant_id, plan)
            return fee_plan_message(merchant_id, plan, default=False)

        engine = self._shards.engine_for_merchant(merchant_id)
        return await self._mutations.on_engine(
            engine, ADMIN_OWNER, request, account_pb2.FeePlan, change
        )

    async def CreateSellerAccount(
        self, request: account_pb2.CreateSellerAccountRequest, context: Context
    ) -> account_pb2.SellerAccount:
        merchant_id = current_call().require_merchant()
        new = NewSellerAccount(
            email=validation.email("email", request.email),
            business_name=validation.text(
                "business_name", request.business_name, maximum=NAME_LENGTH_MAX
            ),
            country=validation.country("country", request.country),
            default_currency=validation.currency("default_currency", request.default_currency),
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> account_pb2.SellerAccount:
            account = await self._service.create_seller_account(connection, merchant_id, new)
            return seller_account_message(account)

        return await self._mutations.for_merchant(
            merchant_id, request, account_pb2.SellerAccount, change
        )

    async def GetSellerAccount(
        self, request: account_pb2.GetSellerAccountRequest, context: Context
    ) -> account_pb2.SellerAccount:
        merchant_id = current_call().require_merchant()
        account_id = validation.object_id("id", request.id, Prefix.ACCOUNT)
        account = await self._service.get_seller_account(merchant_id, account_id)
        return seller_account_message(account)

    async def ListSellerAccounts(
        self, request: account_pb2.ListSellerAccountsRequest, context: Context
    ) -> account_pb2.ListSellerAccountsResponse:
        merchant_id = current_call().require_merchant()
        page = await self._service.list_seller_accounts(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.ACCOUNT, required=False
            ),
        )
        return account_pb2.ListSellerAccountsResponse(
            data=[seller_account_message(account) for account in page.data],
            has_more=page.has_more,
        )

    async def CreateApiKey(
        self, request: account_pb2.CreateApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        call = current_call()
        merchant_id = call.require_merchant()
        name = validation.text("name", request.name, maximum=NAME_LENGTH_MAX)
        scopes = tuple(dict.fromkeys(scope.strip() for scope in request.scopes))
        held = call.caller.scopes if call.caller and call.caller.kind is RESTRICTED else None

        async def change(connection: AsyncConnection) -> account_pb2.ApiKey:
            issued = await self._service.create_api_key(connection, merchant_id, name, scopes, held)
            return issued_key_message(issued)

        return await self._mutations.for_merchant(
            merchant_id, request, account_pb2.ApiKey, change, stored_form=without_secrets
        )

    async def RevokeApiKey(
        self, request: account_pb2.RevokeApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        merchant_id = current_call().require_merchant()
        key_id = validation.object_id("id", request.id, Prefix.API_KEY)

        async def change(connection: AsyncConnection) -> account_pb2.ApiKey:
            return api_key_message(
                await self._service.revoke_api_key(connection, merchant_id, key_id)
            )

        response = await self._mutations.for_merchant(
            merchant_id, request, account_pb2.ApiKey, change
        )
        self._authenticator.forget(key_id)
        return response

    async def RollApiKey(
        self, request: account_pb2.RollApiKeyRequest, context: Context
    ) -> account_pb2.ApiKey:
        merchant_id = current_call().require_merchant()
        key_id = validation.object_id("id", request.id, Prefix.API_KEY)

        async def change(connection: AsyncConnection) -> account_pb2.ApiKey:
            issued = await self._service.roll_api_key(
                connection, merchant_id, key_id, request.expires_in_seconds
            )
            return issued_key_message(issued)

        response = await self._mutations.for_merchant(
            merchant_id, request, account_pb2.ApiKey, change, stored_form=without_secrets
        )
        self._authenticator.forget(key_id)  # its cached entry would outlive a shorter expiry
        return response

    async def ListApiKeys(
        self, request: account_pb2.ListApiKeysRequest, context: Context
    ) -> account_pb2.ListApiKeysResponse:
        merchant_id = current_call().require_merchant()
        key_type = validation.enum_value("type", request.type, _KEY_TYPES_BY_NUMBER)
        page = await self._service.list_api_keys(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.API_KEY, required=False
            ),
            _KEY_TYPES_BY_NUMBER[key_type],
        )
        return account_pb2.ListApiKeysResponse(
            data=[api_key_message(key) for key in page.data], has_more=page.has_more
        )


SECRET_FIELDS = ("secret_key", "publishable_key", "secret")


def without_secrets(message: MessageT) -> MessageT:
    """The form an idempotent replay returns: keys are shown once, never stored in clear."""
    kept = type(message)()
    kept.CopyFrom(message)
    for name in SECRET_FIELDS:
        if name in kept.DESCRIPTOR.fields_by_name:
            kept.ClearField(name)
    return kept


def merchant_message(merchant: Merchant) -> account_pb2.Merchant:
    return account_pb2.Merchant(
        id=merchant.id,
        name=merchant.name,
        email=merchant.email,
        country=merchant.country,
        default_currency=merchant.default_currency,
        livemode=merchant.livemode,
        created=merchant.created,
        metadata=merchant.metadata,
    )


def seller_account_message(account: SellerAccount) -> account_pb2.SellerAccount:
    return account_pb2.SellerAccount(
        id=account.id,
        merchant=account.merchant_id,
        email=account.email,
        business_name=account.business_name,
        country=account.country,
        default_currency=account.default_currency,
        created=account.created,
        metadata=account.metadata,
    )


def api_key_message(key: ApiKey) -> account_pb2.ApiKey:
    return account_pb2.ApiKey(
        id=key.id,
        type=_KEY_TYPES[key.type],
        name=key.name,
        scopes=key.scopes,
        redacted=key.redacted,
        created=key.created,
        revoked=key.revoked or 0,
        expires=key.expires or 0,
    )


def issued_key_message(issued: IssuedKey) -> account_pb2.ApiKey:
    message = api_key_message(issued.key)
    message.secret = issued.secret.reveal()
    return message


def _readable_merchant(param: str, merchant_id: str) -> str:
    """A merchant the caller may read: its own, or any for an operator acting for none
    (another merchant's is NOT_FOUND, as if it did not exist)."""
    merchant_id = validation.object_id(param, merchant_id, Prefix.ACCOUNT)
    caller = current_call().caller
    own_merchant = caller.merchant_id if caller else None
    may_read_any = caller is not None and caller.is_operator and own_merchant is None
    if not may_read_any and merchant_id != own_merchant:
        raise not_found("merchant", merchant_id, param=param)
    return merchant_id


def fee_plan_message(merchant_id: str, plan: FeePlan, default: bool) -> account_pb2.FeePlan:
    return account_pb2.FeePlan(
        merchant=merchant_id,
        percent_basis_points=plan.percent_basis_points,
        fixed_amount=plan.fixed_amount,
        default=default,
    )
