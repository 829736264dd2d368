"""From the `authorization` metadata to a Caller, and whether that caller may use a method.

A verified key is cached in the process for PAYCORE_AUTH_CACHE_TTL_MS, so most calls cost no
database round trip; a revocation clears this process's entry at once and reaches the others
within the TTL.

Forged credentials are kept off the database (issue 23, item 4): the row looked up for a key id
is remembered for the same TTL whether or not it exists (a negative cache), so a key id reaches
the database at most once per TTL however often it is presented, and a client address whose
credentials fail more than PAYCORE_AUTH_FAILURE_BURST times (refilled at
PAYCORE_AUTH_FAILURES_PER_SECOND) is refused before any credential is compared or looked up,
which also throttles guesses of the admin token (item 3); a key this process verified before
is not (only its holder has it), so a merchant sharing an attacker's address keeps working.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from paycore.account.keys import KeyHasher, parse_key
from paycore.account.models import ApiKey, ApiKeyType
from paycore.account.repository import MerchantRepository, find_key_for_authentication
from paycore.account.service import KEY_MANAGEMENT_SCOPE, scope_held
from paycore.account.throttle import FailureThrottle
from paycore.config import Settings
from paycore.errors import ApiError, Reason, not_found
from paycore.ids import MalformedId, Prefix, logical_shard_of
from paycore.runtime.context import Caller, CallerKind
from paycore.runtime.policy import Access, MethodPolicy
from paycore.storage import Shards
from paycore.validation import object_id

CACHE_ENTRIES_MAX = 10_000
MERCHANT_HEADER = "paycore-merchant"
_KEY_CALLERS = {
    ApiKeyType.SECRET: CallerKind.SECRET_KEY,
    ApiKeyType.PUBLISHABLE: CallerKind.PUBLISHABLE_KEY,
    ApiKeyType.RESTRICTED: CallerKind.RESTRICTED_KEY,
}


@dataclass(frozen=True)
class _CacheEntry:
    expires_at: float
    caller: Caller


@dataclass(frozen=True)
class _LookedUp:
    """A key id's row as the database last answered (None: no such key), and until when this
    process trusts that answer."""

    expires_at: float
    found: tuple[ApiKey, bytes] | None


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        shards: Shards,
        hasher: KeyHasher,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._admin_token = settings.admin_token.encode()
        self._internal_token = settings.internal_token.encode()
        self._shards = shards
        self._hasher = hasher
        self._ttl_seconds = settings.auth_cache_ttl_ms / 1000
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: OrderedDict[bytes, _CacheEntry] = OrderedDict()
        self._rows: OrderedDict[str, _LookedUp] = OrderedDict()
        self._merchants: OrderedDict[str, None] = OrderedDict()
        self._missing_merchants: OrderedDict[str, float] = OrderedDict()
        self._failures = FailureThrottle(
            settings.auth_failure_burst, settings.auth_failures_per_second, clock
        )
        self.lookups = 0
        """Database lookups made (tests read it to show floods do not reach the database)."""

    async def authenticate(
        self,
        authorization: str | None,
        acting_for: str | None,
        policy: MethodPolicy,
        client_address: str = "",
    ) -> Caller:
        try:
            caller = await self._caller(authorization, acting_for, client_address)
        except ApiError as error:
            if error.reason is Reason.API_KEY_INVALID:
                self._failures.record_failure(client_address)
            raise
        _check_acting_for(caller, acting_for)
        authorize(caller, policy)
        return caller

    def forget(self, key_id: str) -> None:
        """Drops a revoked or rolled key from this process's caches."""
        for digest in [d for d, entry in self._cache.items() if entry.caller.principal == key_id]:
            del self._cache[digest]
        self._rows.pop(key_id, None)

    async def _caller(
        self, authorization: str | None, acting_for: str | None, client_address: str
    ) -> Caller:
        token = _bearer(authorization)
        digest = self._hasher.digest(token)
        now = self._clock()
        entry = self._cache.get(digest)
        if entry is not None and entry.expires_at > now:
            return entry.caller  # a key verified moments ago: never throttled
        # A key this process verified before (its entry expired) is checked again unthrottled:
        # only its holder has its digest, and its row costs one lookup per TTL, so a merchant
        # calling from an attacker's address keeps working while the flood is refused.
        retry_after_ms = 0 if entry is not None else self._failures.retry_after_ms(client_address)
        if retry_after_ms:
            raise ApiError(
                Reason.AUTHENTICATION_THROTTLED,
                metadata={"retry_after_ms": str(retry_after_ms)},
                retry_after_ms=retry_after_ms,
            )
        operator = self._operator(token, acting_for)
        if operator is None:
            try:
                return await self._key_caller(token, digest, now)
            except ApiError as error:
                if error.reason in (Reason.API_KEY_INVALID, Reason.API_KEY_EXPIRED):
                    self._cache.pop(digest, None)  # revoked or ended since: throttled from now on
                raise
        if operator.merchant_id is not None:
            await self._require_merchant(operator.merchant_id, now)
        return operator

    async def _require_merchant(self, merchant_id: str, now: float) -> None:
        """An operator acting for a merchant that does not exist would create objects nobody
        owns (issue 23, item 7): NOT_FOUND naming paycore-merchant. Merchants are never
        deleted, so one that exists is remembered for good (bounded); one that does not, for
        the cache TTL."""
        if merchant_id in self._merchants:
            return
        missing_until = self._missing_merchants.get(merchant_id)
        if missing_until is None or missing_until <= now:
            self.lookups += 1
            try:
                async with self._shards.read(merchant_id) as connection:
                    found = await MerchantRepository(connection).get(merchant_id)
            except ApiError as error:  # an id naming a shard beyond the map
                if error.reason is not Reason.SHARD_UNKNOWN:
                    raise
                found = None
            if found is not None:
                self._merchants[merchant_id] = None
                while len(self._merchants) > CACHE_ENTRIES_MAX:
                    self._merchants.popitem(last=False)
                return
            self._missing_merchants[merchant_id] = now + self._ttl_seconds
            while len(self._missing_merchants) > CACHE_ENTRIES_MAX:
                self._missing_merchants.popitem(last=False)
        raise not_found("merchant", merchant_id, param=MERCHANT_HEADER)

    def _operator(self, token: str, acting_for: str | None) -> Caller | None:
        kind = None
        if self._admin_token and hmac.compare_digest(token.encode(), self._admin_token):
            kind = CallerKind.ADMIN
        elif self._internal_token and hmac.compare_digest(token.encode(), self._internal_token):
            kind = CallerKind.INTERNAL
        if kind is None:
            return None
        merchant_id = object_id(MERCHANT_HEADER, acting_for, Prefix.ACCOUNT) if acting_for else None
        return Caller(kind=kind, merchant_id=merchant_id, principal=kind.value)

    async def _key_caller(self, token: str, digest: bytes, now: float) -> Caller:
        key = await self._verified_key(token, digest, now)
        caller = Caller(
            kind=_KEY_CALLERS[key.type],
            merchant_id=key.merchant_id,
            principal=key.id,
            scopes=frozenset(key.scopes),
        )
        expires_at = now + self._ttl_seconds
        if key.expires is not None:  # a rolled key: never trusted past its expiry
            expires_at = min(expires_at, now + key.expires - self._wall_clock())
        self._cache[digest] = _CacheEntry(expires_at, caller)
        self._cache.move_to_end(digest)
        while len(self._cache) > CACHE_ENTRIES_MAX:
            self._cache.popitem(last=False)
        return caller

    async def _verified_key(self, token: str, digest: bytes, now: float) -> ApiKey:
        try:
            parsed = parse_key(token)
            logical_shard = logical_shard_of(parsed.key_id, Prefix.API_KEY)
        except MalformedId:
            raise ApiError(Reason.API_KEY_INVALID, param="authorization") from None
        if logical_shard >= self._shards.logical_shard_count:
            raise ApiError(Reason.API_KEY_INVALID, param="authorization")
        found = await self._row(parsed.key_id, logical_shard, now)
        if found is None:
            raise ApiError(Reason.API_KEY_INVALID, param="authorization")
        key, stored_digest = found
        if not hmac.compare_digest(digest, stored_digest):
            raise ApiError(Reason.API_KEY_INVALID, param="authorization")
        if not key.usable_at(self._wall_clock()):
            if key.revoked is None:
                # Rolled, its overlap over: Stripe's `api_key_expired`. The whole secret was
                # presented, so this is no guess and counts for no throttle.
                raise ApiError(Reason.API_KEY_EXPIRED, param="authorization")
            raise ApiError(Reason.API_KEY_INVALID, param="authorization")
        return key

    async def _row(
        self, key_id: str, logical_shard: int, now: float
    ) -> tuple[ApiKey, bytes] | None:
        remembered = self._rows.get(key_id)
        if remembered is not None and remembered.expires_at > now:
            return remembered.found
        self.lookups += 1
        async with self._shards.read_logical(logical_shard) as connection:
            found = await find_key_for_authentication(connection, key_id)
        self._rows[key_id] = _LookedUp(now + self._ttl_seconds, found)
        self._rows.move_to_end(key_id)
        while len(self._rows) > CACHE_ENTRIES_MAX:
            self._rows.popitem(last=False)
        return found


def _check_acting_for(caller: Caller, acting_for: str | None) -> None:
    """A key acts for its own merchant only: `paycore-merchant` naming another is refused,
    PERMISSION_DENIED naming it, rather than ignored (the call would act on the key's merchant,
    not the one the caller named, as Stripe refuses a Stripe-Account the key has no access to).
    Naming the key's own merchant changes nothing and is accepted."""
    if caller.is_operator or not acting_for or acting_for == caller.merchant_id:
        return
    raise ApiError(
        Reason.PERMISSION_DENIED,
        param=MERCHANT_HEADER,
        detail=f"{MERCHANT_HEADER} is for operators acting for a merchant; an API key acts for"
        " its own merchant only: call with that merchant's key",
    )


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
    elif policy.scope == KEY_MANAGEMENT_SCOPE:
        allowed = False  # a restricted key never manages keys, whatever it holds
    else:
        allowed = scope_held(caller.scopes, policy.scope)
    if not allowed:
        raise ApiError(
            Reason.PERMISSION_DENIED,
            param="authorization",
            detail=_denial(caller, policy),
        )


def _denial(caller: Caller, policy: MethodPolicy) -> str:
    if policy.access is Access.ADMIN:
        return "this method needs the admin token"
    if policy.access is Access.INTERNAL:
        return "this method is internal: it needs the admin token or the internal credential"
    if caller.kind is CallerKind.PUBLISHABLE_KEY:
        return "a publishable key cannot call this method; use a secret key"
    if policy.scope == KEY_MANAGEMENT_SCOPE:
        return "only the secret key can create, roll or revoke keys"
    return f"this restricted key lacks the scope {policy.scope}"


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise ApiError(Reason.API_KEY_MISSING, param="authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(Reason.API_KEY_INVALID, param="authorization")
    return token.strip()
