"""Account rows on a merchant's shard. Every method takes the merchant id first and filters by
it, so no query can reach another merchant's rows; the caller picks the shard (paycore.storage)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from paycore.account.models import (
    ApiKey,
    ApiKeyType,
    Merchant,
    NewMerchant,
    NewSellerAccount,
    Page,
    SellerAccount,
)
from paycore.storage.pagination import newest_first, page
from paycore.storage.schema import api_keys, merchants, seller_accounts
from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


class MerchantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, new: NewMerchant) -> Merchant:
        row = (
            await self._connection.execute(
                insert(merchants)
                .values(
                    merchant_id=merchant_id,
                    name=new.name,
                    email=new.email,
                    country=new.country,
                    default_currency=new.default_currency,
                    livemode=new.livemode,
                    metadata=new.metadata,
                )
                .returning(merchants)
            )
        ).one()
        return _merchant(row)

    async def get(self, merchant_id: str) -> Merchant | None:
        row = (
            await self._connection.execute(
                select(merchants).where(merchants.c.merchant_id == merchant_id)
            )
        ).one_or_none()
        return None if row is None else _merchant(row)


class SellerAccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(
        self, merchant_id: str, account_id: str, new: NewSellerAccount
    ) -> SellerAccount:
        row = (
            await self._connection.execute(
                insert(seller_accounts)
                .values(
                    merchant_id=merchant_id,
                    id=account_id,
                    email=new.email,
                    business_name=new.business_name,
                    country=new.country,
                    default_currency=new.default_currency,
                    metadata=new.metadata,
                )
                .returning(seller_accounts)
            )
        ).one()
        return _seller(row)

    async def get(self, merchant_id: str, account_id: str) -> SellerAccount | None:
        row = (
            await self._connection.execute(
                select(seller_accounts).where(
                    seller_accounts.c.merchant_id == merchant_id,
                    seller_accounts.c.id == account_id,
                )
            )
        ).one_or_none()
        return None if row is None else _seller(row)

    async def list(self, merchant_id: str, limit: int, starting_after: str) -> Page[SellerAccount]:
        query = select(seller_accounts).where(seller_accounts.c.merchant_id == merchant_id)
        rows = (
            await self._connection.execute(
                newest_first(query, seller_accounts.c.id, limit, starting_after)
            )
        ).all()
        data, has_more = page(rows, limit)
        return Page([_seller(row) for row in data], has_more)


class ApiKeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, key: ApiKey, secret_hash: bytes) -> ApiKey:
        row = (
            await self._connection.execute(
                insert(api_keys)
                .values(
                    merchant_id=merchant_id,
                    id=key.id,
                    type=key.type.value,
                    name=key.name,
                    scopes=list(key.scopes),
                    secret_hash=secret_hash,
                    redacted=key.redacted,
                )
                .returning(api_keys)
            )
        ).one()
        return _api_key(row)

    async def get(self, merchant_id: str, key_id: str) -> ApiKey | None:
        row = (
            await self._connection.execute(
                select(api_keys).where(
                    api_keys.c.merchant_id == merchant_id, api_keys.c.id == key_id
                )
            )
        ).one_or_none()
        return None if row is None else _api_key(row)

    async def list(
        self, merchant_id: str, limit: int, starting_after: str, key_type: ApiKeyType | None
    ) -> Page[ApiKey]:
        query = select(api_keys).where(api_keys.c.merchant_id == merchant_id)
        if key_type is not None:
            query = query.where(api_keys.c.type == key_type.value)
        rows = (
            await self._connection.execute(
                newest_first(query, api_keys.c.id, limit, starting_after)
            )
        ).all()
        data, has_more = page(rows, limit)
        return Page([_api_key(row) for row in data], has_more)

    async def revoke(self, merchant_id: str, key_id: str) -> ApiKey | None:
        """Revokes once: a second revoke keeps the first revocation time."""
        row = (
            await self._connection.execute(
                update(api_keys)
                .where(api_keys.c.merchant_id == merchant_id, api_keys.c.id == key_id)
                .values(revoked_at=func.coalesce(api_keys.c.revoked_at, func.now()))
                .returning(api_keys)
            )
        ).one_or_none()
        return None if row is None else _api_key(row)

    async def expire(self, merchant_id: str, key_id: str, expires_in_seconds: int) -> ApiKey | None:
        """Sets the key to stop working `expires_in_seconds` from now, unless it is revoked or
        already ends sooner; None when the merchant has no such usable key."""
        expires_at = func.now() + timedelta(seconds=expires_in_seconds)
        row = (
            await self._connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.merchant_id == merchant_id,
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                    (api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > func.now()),
                )
                .values(
                    expires_at=func.least(
                        func.coalesce(api_keys.c.expires_at, expires_at), expires_at
                    )
                )
                .returning(api_keys)
            )
        ).one_or_none()
        return None if row is None else _api_key(row)


async def find_key_for_authentication(
    connection: AsyncConnection, key_id: str
) -> tuple[ApiKey, bytes] | None:
    """The one query that is not scoped by merchant: it is how a request finds its merchant.
    The key id comes from the presented key and routes to the right shard on its own."""
    row = (await connection.execute(select(api_keys).where(api_keys.c.id == key_id))).one_or_none()
    return None if row is None else (_api_key(row), bytes(row.secret_hash))


def _merchant(row: Row[Any]) -> Merchant:
    return Merchant(
        id=row.merchant_id,
        name=row.name,
        email=row.email,
        country=row.country,
        default_currency=row.default_currency,
        livemode=row.livemode,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
    )


def _seller(row: Row[Any]) -> SellerAccount:
    return SellerAccount(
        id=row.id,
        merchant_id=row.merchant_id,
        email=row.email,
        business_name=row.business_name,
        country=row.country,
        default_currency=row.default_currency,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
    )


def _api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        merchant_id=row.merchant_id,
        type=ApiKeyType(row.type),
        name=row.name,
        scopes=tuple(row.scopes),
        redacted=row.redacted,
        created=int(row.created_at.timestamp()),
        revoked=_unix(row.revoked_at),
        expires=_unix(row.expires_at),
    )
