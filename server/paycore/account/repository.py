"""Account rows on a merchant's shard. Every method takes the merchant id first and filters by
it, so no query can reach another merchant's rows; the caller picks the shard (paycore.storage)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from paycore.account.models import (
    ApiKey,
    ApiKeyType,
    Merchant,
    NewMerchant,
    NewSellerAccount,
    SellerAccount,
)
from paycore.errors import not_found
from paycore.storage.keys import merchant_row
from paycore.storage.reads import Kind, fetch_optional, matching
from paycore.storage.rows import Convert, Decoder, Encoder
from paycore.storage.schema import api_keys, merchants, seller_accounts
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

LASTING_SECRET_KEYS_READ_MAX = 100
"""A bound on the lasting secret keys a revoke locks: the API leaves a merchant one (its
creation's, then each roll's new key, the old one ending)."""


def api_keys_query(merchant_id: str, key_type: ApiKeyType | None) -> Select[Any]:
    return matching(api_keys, merchant_id=merchant_id, type=key_type)


class MerchantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, new: NewMerchant) -> Merchant:
        row = (
            await self._connection.execute(
                insert(merchants)
                .values(merchant_id=merchant_id, **_encode_new_merchant.mapping(new))
                .returning(merchants)
            )
        ).one()
        return merchant_of(row)

    async def get(self, merchant_id: str) -> Merchant | None:
        query = select(merchants).where(merchants.c.merchant_id == merchant_id)
        return await fetch_optional(self._connection, query, merchant_of)


async def require_merchant(
    connection: AsyncConnection, merchant_id: str, param: str = "merchant"
) -> None:
    """NOT_FOUND naming `param` when no merchant has this id (read on the connection's shard):
    what is added for a merchant that does not exist belongs to nobody, and an empty answer
    about one would read as "nothing there"."""
    if await MerchantRepository(connection).get(merchant_id) is None:
        raise not_found("merchant", merchant_id, param=param)


class SellerAccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(
        self, merchant_id: str, account_id: str, new: NewSellerAccount
    ) -> SellerAccount:
        row = (
            await self._connection.execute(
                insert(seller_accounts)
                .values(merchant_id=merchant_id, id=account_id, **_encode_new_seller.mapping(new))
                .returning(seller_accounts)
            )
        ).one()
        return seller_account_of(row)

    async def get(self, merchant_id: str, account_id: str) -> SellerAccount | None:
        return await SELLER_ACCOUNTS.fetch(self._connection, merchant_id, account_id)


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
        return api_key_of(row)

    async def get(self, merchant_id: str, key_id: str) -> ApiKey | None:
        return await API_KEYS.fetch(self._connection, merchant_id, key_id)

    async def lock_lasting_secret_keys(self, merchant_id: str) -> list[str]:
        """The ids of the merchant's secret keys that are neither revoked nor ending, locked
        in id order (so that two revokes count them one after the other)."""
        query = (
            select(api_keys.c.id)
            .where(
                api_keys.c.merchant_id == merchant_id,
                api_keys.c.type == ApiKeyType.SECRET.value,
                api_keys.c.revoked_at.is_(None),
                api_keys.c.expires_at.is_(None),
            )
            .order_by(api_keys.c.id)
            .limit(LASTING_SECRET_KEYS_READ_MAX)
            .with_for_update()
        )
        return list((await self._connection.execute(query)).scalars())

    async def revoke(self, merchant_id: str, key_id: str) -> ApiKey | None:
        """Revokes once: a second revoke keeps the first revocation time."""
        row = (
            await self._connection.execute(
                update(api_keys)
                .where(merchant_row(api_keys, merchant_id, key_id))
                .values(revoked_at=func.coalesce(api_keys.c.revoked_at, func.now()))
                .returning(api_keys)
            )
        ).one_or_none()
        return None if row is None else api_key_of(row)

    async def end_lasting(
        self, merchant_id: str, key_id: str, expires_in_seconds: int
    ) -> ApiKey | None:
        """Sets the key to stop working `expires_in_seconds` from now, if it is neither revoked
        nor already ending; None otherwise. One statement: of concurrent calls on one key, the
        first takes the row lock and the others, re-reading the row it leaves, find it ending."""
        row = (
            await self._connection.execute(
                update(api_keys)
                .where(
                    merchant_row(api_keys, merchant_id, key_id),
                    api_keys.c.revoked_at.is_(None),
                    api_keys.c.expires_at.is_(None),
                )
                .values(expires_at=func.now() + timedelta(seconds=expires_in_seconds))
                .returning(api_keys)
            )
        ).one_or_none()
        return None if row is None else api_key_of(row)

    async def replaced(self, merchant_id: str, key_id: str, replacement_id: str) -> None:
        """Records the key a roll of `key_id` issued."""
        await self._connection.execute(
            update(api_keys)
            .where(merchant_row(api_keys, merchant_id, key_id))
            .values(replaced_by=replacement_id)
        )


async def find_key_for_authentication(
    connection: AsyncConnection, key_id: str
) -> tuple[ApiKey, bytes] | None:
    """The one query that is not scoped by merchant: it is how a request finds its merchant.
    The key id comes from the presented key and routes to the right shard on its own."""
    row = (await connection.execute(select(api_keys).where(api_keys.c.id == key_id))).one_or_none()
    return None if row is None else (api_key_of(row), bytes(row.secret_hash))


_CREATED = {"created": "created_at"}
_STORED: dict[str, Convert] = {"metadata": dict}
_encode_new_merchant = Encoder(merchants, NewMerchant)
_encode_new_seller = Encoder(seller_accounts, NewSellerAccount)
# Settlement currencies are given at creation and stored by paycore.currency (issue 19).
_ELSEWHERE = ("settlement_currencies",)
merchant_of = Decoder(
    merchants,
    Merchant,
    columns={"id": "merchant_id", **_CREATED},
    convert=_STORED,
    skip=_ELSEWHERE,
)
seller_account_of = Decoder(
    seller_accounts, SellerAccount, columns=_CREATED, convert=_STORED, skip=_ELSEWHERE
)
api_key_of = Decoder(
    api_keys,
    ApiKey,
    columns={**_CREATED, "revoked": "revoked_at", "expires": "expires_at"},
    convert={"type": ApiKeyType, "scopes": tuple},
)
# The read path's kinds (paycore.storage.reads).
SELLER_ACCOUNTS = Kind("account", seller_accounts, seller_account_of)
API_KEYS = Kind("api_key", api_keys, api_key_of)
