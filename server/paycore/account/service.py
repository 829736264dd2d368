"""Account domain operations. Mutations take the open transaction they run in (Mutations opens
it on the right shard); Gets and Lists go through the one read path (paycore.storage.reads)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from paycore.account.fee_plans import DEFAULT_PLAN, FeePlan, save_plan, stored_plan
from paycore.account.keys import KeyHasher, issue_key, redact
from paycore.account.models import (
    ApiKey,
    ApiKeyType,
    CreatedMerchant,
    IssuedKey,
    Merchant,
    NewMerchant,
    NewSellerAccount,
    SellerAccount,
)
from paycore.account.repository import (
    API_KEYS,
    SELLER_ACCOUNTS,
    ApiKeyRepository,
    MerchantRepository,
    SellerAccountRepository,
    api_keys_query,
    require_merchant,
)
from paycore.currency.models import Settlement
from paycore.currency.repository import save_settlement
from paycore.errors import ApiError, Reason, invalid, missing, not_found
from paycore.ids import Prefix, logical_shard_of, new_id, new_merchant_id
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection

SCOPE_ACCESS = ("read", "write")
KEY_MANAGEMENT_SCOPE = "api_keys:write"
"""Creating, rolling and revoking keys: only the secret key (and operators) may, so no key can
mint one stronger than itself or lock the merchant out (issue 23, item 2)."""
ROLL_OVERLAP_SECONDS_MAX = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class AccountService:
    _shards: Shards
    _reads: Reads
    _hasher: KeyHasher
    _known_resources: frozenset[str]

    async def create_merchant(
        self, connection: AsyncConnection, logical_shard: int, new: NewMerchant
    ) -> CreatedMerchant:
        merchant_id = new_id(Prefix.ACCOUNT, logical_shard)
        merchant = await MerchantRepository(connection).insert(merchant_id, new)
        await _settle_in(connection, merchant_id, "", new.settlement_currencies)
        keys = ApiKeyRepository(connection)
        secret_key = await self._issue(keys, merchant, ApiKeyType.SECRET, "Secret key", ())
        publishable_key = await self._issue(
            keys, merchant, ApiKeyType.PUBLISHABLE, "Publishable key", ()
        )
        return CreatedMerchant(merchant, secret_key, publishable_key)

    async def get_merchant(self, merchant_id: str) -> Merchant:
        return await self._reads.find(
            merchant_id,
            lambda connection: MerchantRepository(connection).get(merchant_id),
            "merchant",
            merchant_id,
        )

    async def fee_plan(self, merchant_id: str) -> tuple[FeePlan, bool]:
        """The merchant's fee plan and whether it is the default one."""
        await self.get_merchant(merchant_id)
        async with self._shards.read(merchant_id) as connection:
            stored = await stored_plan(connection, merchant_id)
        return (stored, False) if stored else (DEFAULT_PLAN, True)

    async def update_fee_plan(
        self, connection: AsyncConnection, merchant_id: str, plan: FeePlan
    ) -> FeePlan:
        await require_merchant(connection, merchant_id)
        await save_plan(connection, merchant_id, plan)
        return plan

    async def create_seller_account(
        self, connection: AsyncConnection, merchant_id: str, new: NewSellerAccount
    ) -> SellerAccount:
        new = await _with_platform_defaults(connection, merchant_id, new)
        account_id = new_merchant_id(Prefix.ACCOUNT, merchant_id)
        seller = await SellerAccountRepository(connection).insert(merchant_id, account_id, new)
        await _settle_in(connection, merchant_id, account_id, new.settlement_currencies)
        return seller

    async def get_seller_account(
        self, merchant_id: str, account_id: str, param: str = "id"
    ) -> SellerAccount:
        """The merchant's seller account, else NOT_FOUND naming `param`."""
        return await self._reads.one(merchant_id, SELLER_ACCOUNTS, account_id, param)

    async def list_seller_accounts(self, merchant_id: str, cursor: Cursor) -> Page[SellerAccount]:
        return await self._reads.page(merchant_id, SELLER_ACCOUNTS, cursor)

    async def create_api_key(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        name: str,
        scopes: tuple[str, ...],
        held: frozenset[str] | None,
    ) -> IssuedKey:
        """`held`: the creating key's scopes, None for the secret key and operators (which hold
        every scope); a key can only grant what it holds."""
        self._check_scopes(scopes, held)
        merchant = await MerchantRepository(connection).get(merchant_id)
        if merchant is None:
            raise not_found("merchant", merchant_id)
        return await self._issue(
            ApiKeyRepository(connection), merchant, ApiKeyType.RESTRICTED, name, scopes
        )

    async def issue_publishable_key(
        self, connection: AsyncConnection, merchant_id: str, name: str
    ) -> IssuedKey:
        """Another publishable key of the merchant (the hosted checkout pages' own)."""
        merchant = await MerchantRepository(connection).get(merchant_id)
        if merchant is None:
            raise not_found("merchant", merchant_id)
        return await self._issue(
            ApiKeyRepository(connection), merchant, ApiKeyType.PUBLISHABLE, name, ()
        )

    async def revoke_api_key(
        self, connection: AsyncConnection, merchant_id: str, key_id: str
    ) -> ApiKey:
        """Revokes the key, unless it is the merchant's last secret key that does not end
        (API_KEY_LAST_SECRET naming `id`): as Stripe's, an account always keeps a secret key,
        the only one that issues, rolls and revokes keys; rolling replaces it."""
        keys = ApiKeyRepository(connection)
        lasting = await keys.lock_lasting_secret_keys(merchant_id)
        if lasting == [key_id]:
            raise ApiError(Reason.API_KEY_LAST_SECRET, param="id", id=key_id)
        key = await keys.revoke(merchant_id, key_id)
        if key is None:
            raise not_found("api_key", key_id)
        return key

    async def roll_api_key(
        self, connection: AsyncConnection, merchant_id: str, key_id: str, overlap_seconds: int
    ) -> IssuedKey:
        """A new key like `key_id` (type, name, scopes); the old one ends `overlap_seconds` from
        now, so the merchant can deploy the new one before the old stops working. A key rolls
        once: rolled again (concurrent rolls included) while it overlaps, API_KEY_ROLLED naming
        `id` and its replacement, so it has one successor; its overlap is cut short by revoking
        it, and the successor rolls in its turn."""
        if not 0 <= overlap_seconds <= ROLL_OVERLAP_SECONDS_MAX:
            raise invalid("expires_in_seconds", f"must be between 0 and {ROLL_OVERLAP_SECONDS_MAX}")
        keys = ApiKeyRepository(connection)
        old = await keys.end_lasting(merchant_id, key_id, overlap_seconds)
        if old is None:
            raise await _not_rollable(keys, merchant_id, key_id)
        merchant = await MerchantRepository(connection).get(merchant_id)
        if merchant is None:
            raise not_found("merchant", merchant_id)
        issued = await self._issue(keys, merchant, old.type, old.name, old.scopes)
        await keys.replaced(merchant_id, key_id, issued.key.id)
        return issued

    async def list_api_keys(
        self, merchant_id: str, cursor: Cursor, key_type: ApiKeyType | None
    ) -> Page[ApiKey]:
        query = api_keys_query(merchant_id, key_type)
        return await self._reads.page(merchant_id, API_KEYS, cursor, query)

    def _check_scopes(self, scopes: tuple[str, ...], held: frozenset[str] | None) -> None:
        if not scopes:  # a restricted key's, which are what it may do
            raise missing("scopes")
        for index, scope in enumerate(scopes):
            resource, _, access = scope.partition(":")
            if resource not in self._known_resources or access not in SCOPE_ACCESS:
                raise invalid(
                    f"scopes[{index}]", f"{scope[:60]!r} is not <resource>:read or <resource>:write"
                )
            if scope == KEY_MANAGEMENT_SCOPE:
                raise invalid(f"scopes[{index}]", "managing keys is for the secret key only")
            if held is not None and not scope_held(held, scope):
                raise invalid(f"scopes[{index}]", f"the creating key does not hold {scope}")

    async def _issue(
        self,
        keys: ApiKeyRepository,
        merchant: Merchant,
        key_type: ApiKeyType,
        name: str,
        scopes: tuple[str, ...],
    ) -> IssuedKey:
        key_id, secret = issue_key(
            key_type, merchant.livemode, logical_shard_of(merchant.id, Prefix.ACCOUNT)
        )
        draft = ApiKey(
            id=key_id,
            merchant_id=merchant.id,
            type=key_type,
            name=name,
            scopes=scopes,
            redacted=redact(secret),
            created=0,
            revoked=None,
        )
        stored = await keys.insert(merchant.id, draft, self._hasher.digest(secret.reveal()))
        return IssuedKey(stored, secret)


async def _not_rollable(keys: ApiKeyRepository, merchant_id: str, key_id: str) -> ApiError:
    """Why `key_id` does not roll: already rolled and still overlapping, else NOT_FOUND (no such
    key, revoked, or ended)."""
    key = await keys.get(merchant_id, key_id)
    if key is None or key.expires is None or not key.usable_at(time.time()):
        return not_found("api_key", key_id)
    replacement = key.replaced_by or "the key its roll issued"  # rolled before 0067: unnamed
    return ApiError(
        Reason.API_KEY_ROLLED,
        param="id",
        metadata={"replaced_by": replacement},
        id=key_id,
        replacement=replacement,
    )


def scope_held(held: frozenset[str], required: str) -> bool:
    """`<resource>:write` implies `<resource>:read`."""
    resource, _, access = required.partition(":")
    return required in held or (access == "read" and f"{resource}:write" in held)


async def _settle_in(
    connection: AsyncConnection, merchant_id: str, account: str, currencies: tuple[str, ...]
) -> None:
    """Currencies (issue 19): settlement currencies given at creation."""
    if currencies:
        await save_settlement(connection, merchant_id, Settlement(account, currencies))


async def _with_platform_defaults(
    connection: AsyncConnection, merchant_id: str, new: NewSellerAccount
) -> NewSellerAccount:
    """Stripe's Account.create defaults: the country left out is the platform's, and so is the
    currency for a seller of the platform's country (another country's names its own)."""
    if new.country and new.default_currency:
        return new
    merchant = await MerchantRepository(connection).get(merchant_id)
    if merchant is None:
        raise not_found("merchant", merchant_id)
    country = new.country or merchant.country
    if not new.default_currency and country != merchant.country:
        raise missing("default_currency")
    return replace(
        new, country=country, default_currency=new.default_currency or merchant.default_currency
    )
