"""From the `authorization` metadata to a Caller, and whether that caller may use a method.

A verified key is cached in the process for PAYCORE_AUTH_CACHE_TTL_MS, so most calls cost no
database round trip; a revocation clears this process's entry at once and reaches the others
within the TTL.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from paycore.account.keys import KeyHasher, parse_key
from paycore.account.models import ApiKey, ApiKeyType
from paycore.account.repository import find_key_for_authentication
from paycore.config import Settings
from paycore.errors import ApiError, Reason
from paycore.ids import MalformedId, Prefix, logical_shard_of
from paycore.runtime.context import Caller, CallerKind
from paycore.runtime.policy import Access, MethodPolicy
from paycore.storage import Shards
from paycore.validation import object_id

CACHE_ENTRIES_MAX = 10_000
_KEY_CALLERS = {
    ApiKeyType.SECRET: CallerKind.SECRET_KEY,
    ApiKeyType.PUBLISHABLE: CallerKind.PUBLISHABLE_KEY,
    ApiKeyType.RESTRICTED: CallerKind.RESTRICTED_KEY,
}


@dataclass(frozen=True)
class _CacheEntry:
    expires_at: float
    caller: Caller


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        shards: Shards,
        hasher: KeyHasher,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admin_token = settings.admin_token.encode()
        self._internal_token = settings.internal_token.encode()
        self._shards = shards
        self._hasher = hasher
        self._ttl_seconds = settings.auth_cache_ttl_ms / 1000
        self._clock = clock
        self._cache: OrderedDict[bytes, _CacheEntry] = OrderedDict()

    async def authenticate(
        self, authorization: str | None, acting_for: str | None, policy: MethodPolicy
    ) -> Caller:
        token = _bearer(authorization)
        caller = self._operator(token, acting_for) or await self._key_caller(token)
        authorize(caller, policy)
        return caller

    def forget(self, key_id: str) -> None:
        """Drops a revoked key from this process's cache."""
        for digest in [d for d, entry in self._cache.items() if entry.caller.principal == key_id]:
            del self._cache[digest]

    def _operator(self, token: str, acting_for: str | None) -> Caller | None:
        kind = None
        if self._admin_token and hmac.compare_digest(token.encode(), self._admin_token):
            kind = CallerKind.ADMIN
        elif self._internal_token and hmac.compare_digest(token.encode(), self._internal_token):
            kind = CallerKind.INTERNAL
        if kind is None:
            return None
        merchant_id = (
            object_id("paycore-merchant", acting_for, Prefix.ACCOUNT) if acting_for else None
        )
        return Caller(kind=kind, merchant_id=merchant_id, principal=kind.value)

    async def _key_caller(self, token: str) -> Caller:
        digest = self._hasher.digest(token)
        now = self._clock()
        entry = self._cache.get(digest)
        if entry is not None and entry.expires_at > now:
            return entry.caller
        key = await self._verified_key(token, digest)
        caller = Caller(
            kind=_KEY_CALLERS[key.type],
            merchant_id=key.merchant_id,
            principal=key.id,
            scopes=frozenset(key.scopes),
        )
        self._cache[digest] = _CacheEntry(now + self._ttl_seconds, caller)
        self._cache.move_to_end(digest)
        while len(self._cache) > CACHE_ENTRIES_MAX:
            self._cache.popitem(last=False)
        return caller

    async def _verified_key(self, token: str, digest: bytes) -> ApiKey:
        try:
            parsed = parse_key(token)
            logical_shard = logical_shard_of(parsed.key_id, Prefix.API_KEY)
        except MalformedId:
            raise ApiError(Reason.API_KEY_INVALID) from None
        if logical_shard >= self._shards.logical_shard_count:
            raise ApiError(Reason.API_KEY_INVALID)
        async with self._shards.read_logical(logical_shard) as connection:
            found = await find_key_for_authentication(connection, parsed.key_id)
        if found is None:
            raise ApiError(Reason.API_KEY_INVALID)
        key, stored_digest = found
        if not hmac.compare_digest(digest, stored_digest) or key.revoked is not None:
            raise ApiError(Reason.API_KEY_INVALID)
        return key


def authorize(caller: Caller, policy: MethodPolicy) -> None:
    """PERMISSION_DENIED unless `caller` may call a method with `policy`."""
    if policy.access is Access.ADMIN:
        allowed = caller.kind is CallerKind.ADMIN
    elif policy.access is Access.INTERNAL:
        allowed = caller.is_operator
    elif caller.is_operator or caller.kind is CallerKind.SECRET_KEY:
        allowed = True
    elif caller.kind is CallerKind.PUBLISHABLE_KEY:
        allowed = policy.access is Access.PUBLISHABLE
    else:
        allowed = has_scope(caller.scopes, policy.scope)
    if not allowed:
        raise ApiError(
            Reason.PERMISSION_DENIED,
            param="authorization",
            detail=_denial(caller, policy),
        )


def has_scope(held: frozenset[str], required: str) -> bool:
    """`<resource>:write` implies `<resource>:read`."""
    resource, _, access = required.partition(":")
    return required in held or (access == "read" and f"{resource}:write" in held)


def _denial(caller: Caller, policy: MethodPolicy) -> str:
    if policy.access is Access.ADMIN:
        return "this method needs the admin token"
    if policy.access is Access.INTERNAL:
        return "this method is internal: it needs the admin token or the internal credential"
    if caller.kind is CallerKind.PUBLISHABLE_KEY:
        return "a publishable key cannot call this method; use a secret key"
    return f"this restricted key lacks the scope {policy.scope}"


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise ApiError(Reason.API_KEY_MISSING, param="authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(Reason.API_KEY_INVALID, param="authorization")
    return token.strip()
