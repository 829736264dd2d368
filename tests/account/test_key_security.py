"""Keys under issue 23: restricted keys cannot escalate (item 2), failed authentications are
throttled per client address (item 3), forged keys stay off the database (item 4), keys roll
with an overlap (item 9)."""

from __future__ import annotations

import asyncio
import secrets
import time

import grpc
import pytest
from grpc import aio
from paycore import contracts
from paycore.account.authentication import Authenticator
from paycore.account.keys import issue_key
from paycore.account.models import ApiKey, ApiKeyType
from paycore.account.repository import ApiKeyRepository
from paycore.app import Platform
from paycore.client import connect
from paycore.config import Settings
from paycore.errors import ApiError, Reason
from paycore.ids import Prefix, logical_shard_of
from paycore.v1 import account_pb2

from tests.helpers import MerchantFixture, rich_error


def _key_id(key: str) -> str:
    return "key_" + key.split("_")[2][:22]


def _forwarded(address: str) -> tuple[tuple[str, str], ...]:
    """Calls from the test runner (127.0.0.1, a trusted proxy) as if from `address`: each test
    gets an address of its own, so its failures throttle nobody else."""
    return (("x-forwarded-for", address),)


def _address() -> str:
    return f"203.0.113.{secrets.randbelow(200) + 1}-{secrets.token_hex(3)}"


async def _failure(call: object) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value


async def _key_holding(platform: Platform, merchant_id: str, scopes: tuple[str, ...]) -> str:
    """A restricted key as one could be made before this issue (holding api_keys:write),
    stored directly: the API no longer issues such keys."""
    key_id, secret = issue_key(
        ApiKeyType.RESTRICTED, False, logical_shard_of(merchant_id, Prefix.ACCOUNT)
    )
    hasher = platform.accounts._hasher  # the server's own, so the key authenticates
    async with platform.shards.transaction(merchant_id) as connection:
        await ApiKeyRepository(connection).insert(
            merchant_id,
            ApiKey(key_id, merchant_id, ApiKeyType.RESTRICTED, "old", scopes, "rk_...", 0, None),
            hasher.digest(secret.reveal()),
        )
    return secret.reveal()


async def test_a_restricted_key_cannot_manage_keys_whatever_it_holds(
    platform: Platform, target: str, merchant: MerchantFixture
) -> None:
    """The probe: a restricted key holding only api_keys:write created a key with payments,
    refunds and accounts write scopes, then revoked the secret and publishable keys."""
    old_key = await _key_holding(platform, merchant.merchant.id, ("api_keys:write",))
    secret_id = _key_id(merchant.merchant.secret_key)
    async with connect(target, old_key) as restricted:
        calls = [
            restricted.accounts.CreateApiKey(
                account_pb2.CreateApiKeyRequest(name="x", scopes=["payments:write"])
            ),
            restricted.accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=secret_id)),
            restricted.accounts.RevokeApiKey(
                account_pb2.RevokeApiKeyRequest(id=_key_id(merchant.merchant.publishable_key))
            ),
            restricted.accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=secret_id)),
        ]
        for call in calls:
            error = rich_error(await _failure(call))
            assert (error.code, error.param) == (grpc.StatusCode.PERMISSION_DENIED, "authorization")
            assert "only the secret key" in error.message
    for key in (merchant.merchant.secret_key, merchant.merchant.publishable_key):
        listed = await merchant.client.accounts.ListApiKeys(account_pb2.ListApiKeysRequest())
        assert all(k.revoked == 0 for k in listed.data if k.id == _key_id(key))
    assert (
        await merchant.client.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id=merchant.merchant.id)
        )
    ).id == merchant.merchant.id


async def test_no_key_is_issued_that_manages_keys(merchant: MerchantFixture) -> None:
    error = rich_error(
        await _failure(
            merchant.client.accounts.CreateApiKey(
                account_pb2.CreateApiKeyRequest(
                    name="x", scopes=["accounts:read", "api_keys:write"]
                )
            )
        )
    )
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "scopes[1]")


async def test_a_key_grants_only_scopes_it_holds(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    async with platform.shards.transaction(merchant_id) as connection:
        with pytest.raises(ApiError) as refused:
            await platform.accounts.create_api_key(
                connection, merchant_id, "x", ("payments:write",), frozenset({"payments:read"})
            )
        assert refused.value.param == "scopes[0]"
        granted = await platform.accounts.create_api_key(
            connection, merchant_id, "x", ("payments:read",), frozenset({"payments:write"})
        )
        assert granted.key.scopes == ("payments:read",)


async def test_a_rolled_key_overlaps_then_the_old_one_ends(
    target: str, merchant: MerchantFixture
) -> None:
    old = merchant.merchant.secret_key
    rolled = await merchant.client.accounts.RollApiKey(
        account_pb2.RollApiKeyRequest(id=_key_id(old), expires_in_seconds=3600)
    )
    assert rolled.type == account_pb2.API_KEY_TYPE_SECRET and rolled.secret.startswith("sk_test_")
    listed = await merchant.client.accounts.ListApiKeys(account_pb2.ListApiKeysRequest())
    (old_listed,) = [key for key in listed.data if key.id == _key_id(old)]
    assert old_listed.expires > 0 and old_listed.revoked == 0
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    async with connect(target, rolled.secret) as new_client:
        assert (await new_client.accounts.GetMerchant(request)).id == merchant.merchant.id
        assert (await merchant.client.accounts.GetMerchant(request)).id == merchant.merchant.id
        # Cutting the overlap short is revoking the old key (a second roll is refused).
        await new_client.accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=_key_id(old)))
        error = rich_error(await _failure(merchant.client.accounts.GetMerchant(request)))
        assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")
        assert (await new_client.accounts.GetMerchant(request)).id == merchant.merchant.id


def _refused_as_rolled(error: aio.AioRpcError, key_id: str, successor_id: str) -> None:
    rich = rich_error(error)
    assert (rich.code, rich.reason, rich.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "API_KEY_ROLLED",
        "id",
    )
    assert key_id in rich.message and f"replaced by {successor_id}" in rich.message


async def _lasting_keys(merchant: MerchantFixture, key_type: int) -> list[str]:
    listed = await merchant.client.accounts.ListApiKeys(
        account_pb2.ListApiKeysRequest(type=key_type)  # type: ignore[arg-type]
    )
    return [key.id for key in listed.data if key.revoked == 0 and key.expires == 0]


async def test_concurrent_rolls_of_one_key_issue_one_replacement(
    merchant: MerchantFixture,
) -> None:
    """The probe: six rolls of one key at once (a double-click, no Idempotency-Key) gave six
    live replacements, the extras never ending. One roll replaces the key; the others are
    refused naming the one replacement."""
    old = _key_id(merchant.merchant.secret_key)
    request = account_pb2.RollApiKeyRequest(id=old, expires_in_seconds=3600)
    outcomes = await asyncio.gather(
        *(merchant.client.accounts.RollApiKey(request) for _ in range(6)), return_exceptions=True
    )
    rolled = [outcome for outcome in outcomes if isinstance(outcome, account_pb2.ApiKey)]
    assert len(rolled) == 1, outcomes
    (successor,) = rolled
    for refused in outcomes:
        if refused is not successor:
            assert isinstance(refused, aio.AioRpcError), refused
            _refused_as_rolled(refused, old, successor.id)
    assert await _lasting_keys(merchant, account_pb2.API_KEY_TYPE_SECRET) == [successor.id]


async def test_a_rolled_key_does_not_roll_again_and_its_replacement_does(
    merchant: MerchantFixture,
) -> None:
    old = _key_id(merchant.merchant.publishable_key)
    accounts = merchant.client.accounts
    first = await accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=old, expires_in_seconds=60))
    again = await _failure(
        accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=old, expires_in_seconds=0))
    )
    _refused_as_rolled(again, old, first.id)
    second = await accounts.RollApiKey(
        account_pb2.RollApiKeyRequest(id=first.id, expires_in_seconds=60)
    )
    assert second.secret.startswith("pk_test_") and second.id not in (old, first.id)
    _refused_as_rolled(
        await _failure(accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=first.id))),
        first.id,
        second.id,
    )
    publishable = await _lasting_keys(merchant, account_pb2.API_KEY_TYPE_PUBLISHABLE)
    assert second.id in publishable and not {old, first.id} & set(publishable)
    # The refused rolls left the old keys' overlaps as they were (the 0 did not end `old`).
    listed = await accounts.ListApiKeys(account_pb2.ListApiKeysRequest())
    ending = {key.id: key.expires for key in listed.data if key.id in (old, first.id)}
    assert len(ending) == 2 and all(expires > time.time() for expires in ending.values()), ending


async def test_the_publishable_key_rolls_too(target: str, merchant: MerchantFixture) -> None:
    old = merchant.merchant.publishable_key
    rolled = await merchant.client.accounts.RollApiKey(
        account_pb2.RollApiKeyRequest(id=_key_id(old))
    )
    assert rolled.secret.startswith("pk_test_") and rolled.name == "Publishable key"
    missing = rich_error(
        await _failure(
            merchant.client.accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=_key_id(old)))
        )
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND  # ended: nothing left to roll


async def test_the_refusal_names_the_replacement_among_keys_alike(
    merchant: MerchantFixture,
) -> None:
    """Restricted keys of one name and scopes, made before and after a roll: the refusal names
    the key the roll issued, not one of them."""
    accounts = merchant.client.accounts
    alike = account_pb2.CreateApiKeyRequest(name="ci", scopes=["payments:read"])
    rolled_key = (await accounts.CreateApiKey(alike)).id
    await accounts.CreateApiKey(alike)
    successor = await accounts.RollApiKey(
        account_pb2.RollApiKeyRequest(id=rolled_key, expires_in_seconds=600)
    )
    await accounts.CreateApiKey(alike)
    again = await _failure(accounts.RollApiKey(account_pb2.RollApiKeyRequest(id=rolled_key)))
    _refused_as_rolled(again, rolled_key, successor.id)
    assert rich_error(again).metadata["replaced_by"] == successor.id


async def test_wrong_admin_tokens_are_throttled_per_address(
    target: str, settings: Settings, merchant: MerchantFixture
) -> None:
    """200 wrong admin tokens in a row were never throttled."""
    attacker, bystander = _address(), _address()
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    codes = []
    started = time.monotonic()
    async with connect(target, "wrong-" + secrets.token_urlsafe(32)) as guessing:
        for _ in range(200):
            error = await _failure(
                guessing.accounts.GetMerchant(request, metadata=_forwarded(attacker))
            )
            codes.append(error.code())
    elapsed_seconds = time.monotonic() - started
    assert codes[:20] == [grpc.StatusCode.UNAUTHENTICATED] * 20
    # After the burst of 20, one more guess is heard per second (the refill); the rest are
    # refused unheard.
    heard = codes.count(grpc.StatusCode.UNAUTHENTICATED)
    assert heard <= 20 + elapsed_seconds * settings.auth_failures_per_second + 1, heard
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) == 200 - heard >= 100
    async with connect(target, settings.admin_token) as admin:
        throttled = rich_error(
            await _failure(admin.accounts.GetMerchant(request, metadata=_forwarded(attacker)))
        )
        assert throttled.reason == "AUTHENTICATION_THROTTLED"
        assert throttled.retry_delay_ms is not None and throttled.retry_delay_ms > 0
        answered = await admin.accounts.GetMerchant(request, metadata=_forwarded(bystander))
        assert answered.id == merchant.merchant.id


async def test_forged_keys_stay_off_the_database(
    platform: Platform, target: str, settings: Settings, merchant: MerchantFixture
) -> None:
    """1,000 forged well-formed keys made 1,000 database transactions."""
    authenticator = platform.authenticator
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    _, forged = issue_key(ApiKeyType.SECRET, False, 3)
    ttl_seconds = settings.auth_cache_ttl_ms / 1000
    before, started = authenticator.lookups, time.monotonic()
    address = _address()
    async with connect(target, forged.reveal()) as forger:
        for _ in range(300):
            await _failure(forger.accounts.GetMerchant(request, metadata=_forwarded(address)))
    # One key id: one lookup per cache TTL however often it comes (300 made 300 before).
    lookups = authenticator.lookups - before
    assert 1 <= lookups <= 1 + (time.monotonic() - started) / ttl_seconds, lookups

    before, started = authenticator.lookups, time.monotonic()
    address = _address()
    for _ in range(300):
        _, forged = issue_key(ApiKeyType.SECRET, False, secrets.randbelow(64))
        async with connect(target, forged.reveal()) as forger:
            await _failure(forger.accounts.GetMerchant(request, metadata=_forwarded(address)))
    # Distinct forged keys: the address's failure allowance (20 at once, then one a second)
    # bounds the lookups; the rest are refused before any.
    lookups = authenticator.lookups - before
    refill = (time.monotonic() - started) * settings.auth_failures_per_second
    assert lookups <= settings.auth_failure_burst + refill + 1, lookups
    answered = await merchant.client.accounts.GetMerchant(request)
    assert answered.id == merchant.merchant.id


async def test_a_verified_key_is_never_throttled(
    platform: Platform, settings: Settings, merchant: MerchantFixture
) -> None:
    """A merchant behind the same address as an attacker keeps working with its verified key
    (for the cache TTL; the clock is this test's, so the machine's load cannot move it)."""
    now = [1000.0]
    authenticator = Authenticator(
        settings, platform.shards, platform.accounts._hasher, clock=lambda: now[0]
    )
    policy = contracts.method_policies()["/paycore.v1.AccountService/GetMerchant"]
    key = f"Bearer {merchant.merchant.secret_key}"
    caller = await authenticator.authenticate(key, None, policy, "198.51.100.1")
    reasons = []
    for _ in range(40):
        with pytest.raises(ApiError) as refused:
            await authenticator.authenticate(
                "Bearer sk_test_" + "x" * 54, None, policy, "198.51.100.1"
            )
        reasons.append(refused.value.reason)
    assert reasons[:20] == [Reason.API_KEY_INVALID] * 20
    assert set(reasons[20:]) == {Reason.AUTHENTICATION_THROTTLED}
    assert await authenticator.authenticate(key, None, policy, "198.51.100.1") == caller
    now[0] += 30  # the cache has expired and the allowance refilled: heard again
    assert await authenticator.authenticate(key, None, policy, "198.51.100.1") == caller


async def test_a_key_in_use_stays_unthrottled_past_the_cache_ttl(
    platform: Platform, settings: Settings, merchant: MerchantFixture
) -> None:
    """A merchant calling all along from the attacker's address (a shared NAT) was refused
    AUTHENTICATION_THROTTLED as soon as its key's cache entry expired (the TTL, 2 s) while the
    flood kept the allowance empty: about half of its calls during an attack. A key this
    process verified before is checked again (its row, once per TTL), never throttled."""
    now = [1000.0]
    authenticator = Authenticator(
        settings, platform.shards, platform.accounts._hasher, clock=lambda: now[0]
    )
    policy = contracts.method_policies()["/paycore.v1.AccountService/GetMerchant"]
    public_policy = contracts.method_policies()["/paycore.v1.CustomerService/CreatePaymentMethod"]
    key = f"Bearer {merchant.merchant.secret_key}"
    address = "198.51.100.2"
    caller = await authenticator.authenticate(key, None, policy, address)
    revoked = f"Bearer {merchant.merchant.publishable_key}"  # verified now, revoked below
    await authenticator.authenticate(revoked, None, public_policy, address)
    ttl_seconds = settings.auth_cache_ttl_ms / 1000

    async def flood() -> set[Reason]:
        reasons = set()
        for _ in range(40):
            with pytest.raises(ApiError) as refused:
                await authenticator.authenticate(
                    "Bearer sk_test_" + "x" * 54, None, policy, address
                )
            reasons.add(refused.value.reason)
        return reasons

    assert Reason.AUTHENTICATION_THROTTLED in await flood()
    for _ in range(3):
        now[0] += ttl_seconds + 0.5  # the key's entry expired; the flood empties the refill
        assert Reason.AUTHENTICATION_THROTTLED in await flood()
        assert await authenticator.authenticate(key, None, policy, address) == caller
    with pytest.raises(ApiError) as forged:  # a key never verified is still refused unheard
        await authenticator.authenticate("Bearer sk_test_" + "y" * 54, None, policy, address)
    assert forged.value.reason is Reason.AUTHENTICATION_THROTTLED
    # A key revoked through another process: its stale entry lets it be heard once (refused),
    # then it is throttled like any other.
    await merchant.client.accounts.RevokeApiKey(
        account_pb2.RevokeApiKeyRequest(id=_key_id(merchant.merchant.publishable_key))
    )
    now[0] += ttl_seconds + 0.5
    await flood()
    reasons = []
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            await authenticator.authenticate(revoked, None, public_policy, address)
        reasons.append(refused.value.reason)
    assert reasons == [Reason.API_KEY_INVALID, Reason.AUTHENTICATION_THROTTLED]


async def _secret_key_stored(platform: Platform, merchant_id: str) -> str:
    """A second secret key with no expiry, stored directly (the API's secret keys come from a
    merchant's creation and from rolls, whose old key always ends)."""
    key_id, secret = issue_key(
        ApiKeyType.SECRET, False, logical_shard_of(merchant_id, Prefix.ACCOUNT)
    )
    hasher = platform.accounts._hasher
    async with platform.shards.transaction(merchant_id) as connection:
        await ApiKeyRepository(connection).insert(
            merchant_id,
            ApiKey(key_id, merchant_id, ApiKeyType.SECRET, "second", (), "sk_...", 0, None),
            hasher.digest(secret.reveal()),
        )
    return key_id


async def test_the_last_secret_key_cannot_be_revoked(
    target: str, merchant: MerchantFixture
) -> None:
    """The probe: a merchant revoked its only secret key, and then nobody could issue it one
    (a revoked key does not roll; operators create restricted keys only). As Stripe's, the
    account always keeps a secret key: revoking the last one that does not end is refused;
    rolling replaces it."""
    accounts = merchant.client.accounts
    first = _key_id(merchant.merchant.secret_key)
    error = rich_error(
        await _failure(accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=first)))
    )
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "API_KEY_LAST_SECRET",
        "id",
    )
    assert "last secret key" in error.message and "roll" in error.message
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    assert (await accounts.GetMerchant(request)).id == merchant.merchant.id  # still works

    # Rolled with an overlap: the old key ends, so the new one is the last that lasts.
    rolled = await accounts.RollApiKey(
        account_pb2.RollApiKeyRequest(id=first, expires_in_seconds=3600)
    )
    error = rich_error(
        await _failure(accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=rolled.id)))
    )
    assert (error.reason, error.param) == ("API_KEY_LAST_SECRET", "id")
    async with connect(target, rolled.secret) as new_client:
        accounts = new_client.accounts
        revoked = await accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=first))
        assert revoked.revoked > 0  # the ending one may go at once
        again = await accounts.RevokeApiKey(account_pb2.RevokeApiKeyRequest(id=first))
        assert again.revoked == revoked.revoked  # a revoked key's revoke still answers it
        listed = await accounts.ListApiKeys(
            account_pb2.ListApiKeysRequest(type=account_pb2.API_KEY_TYPE_SECRET)
        )
    assert [key.id for key in listed.data if key.revoked == 0 and key.expires == 0] == [rolled.id]


async def test_two_secret_keys_revoked_at_once_leave_one(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """Each revoke locks the merchant's lasting secret keys before it counts them: of two
    revoked together, one goes and the other is refused."""
    merchant_id = merchant.merchant.id
    first = _key_id(merchant.merchant.secret_key)
    second = await _secret_key_stored(platform, merchant_id)

    async def revoke(key_id: str) -> ApiError | None:
        async with platform.shards.transaction(merchant_id) as connection:
            try:
                await platform.accounts.revoke_api_key(connection, merchant_id, key_id)
            except ApiError as refused:
                return refused
        return None

    outcomes = await asyncio.gather(revoke(first), revoke(second))
    refused = [outcome for outcome in outcomes if outcome is not None]
    assert [(error.reason, error.param) for error in refused] == [
        (Reason.API_KEY_LAST_SECRET, "id")
    ]
