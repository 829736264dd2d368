"""Rate limits per key and route class, in Redis, answered with RESOURCE_EXHAUSTED and a hint."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.ratelimit import RateDecision, RateLimiter
from paycore.runtime.policy import RateClass
from paycore.v1 import account_pb2
from redis.asyncio import Redis

from tests.helpers import create_merchant, rich_error, serving

BURST_ATTEMPTS_MAX = 5
T = TypeVar("T")


def _limiter(redis: Redis, settings: Settings, **limits: int) -> RateLimiter:
    prefix = f"{settings.redis_key_prefix}{os.urandom(4).hex()}:"
    return RateLimiter(redis, limits, prefix)


async def within_one_interval(
    limit_per_second: int, burst: Callable[[int], Awaitable[tuple[T, float]]]
) -> T:
    """What `burst(attempt)` found, from the first attempt whose burst of calls took less than
    one interval of the limit (1 s / limit); `burst` answers what it found and the seconds its
    limited calls took, and uses a fresh key (a fresh bucket) for each attempt.

    Why: a limit of N per second refills one request every 1/N s, so a burst of N + 1 has its
    last request refused only when all of it falls within one interval (50 ms at 20 per
    second). On a loaded machine the calls alone can take longer, and then the limiter is right
    to allow the last one: a stretched burst proves nothing either way and is made again, while
    one that fit is held to the exact answer. The limiter's clock (Redis') runs at the rate of
    ours, so a burst took at most what we measured around it."""
    interval_seconds = 1 / limit_per_second
    took: list[float] = []
    for attempt in range(BURST_ATTEMPTS_MAX):
        found, seconds = await burst(attempt)
        if seconds < interval_seconds:
            return found
        took.append(seconds)
    pytest.fail(
        f"no burst fit within {interval_seconds * 1000:.0f} ms (they took {took} s): "
        "the machine is too loaded to tell"
    )


async def checks(
    limiter: RateLimiter, principal: str, rate_class: RateClass, count: int
) -> tuple[list[RateDecision], float]:
    """`count` checks at once, and the seconds they took."""
    started = time.monotonic()
    decisions = [await limiter.check(principal, rate_class) for _ in range(count)]
    return decisions, time.monotonic() - started


async def test_a_burst_of_the_limit_passes_then_the_next_waits(
    redis: Redis, settings: Settings
) -> None:
    limiter = _limiter(redis, settings, payments=10, other=100)
    decisions = await within_one_interval(
        10, lambda attempt: checks(limiter, f"key_a{attempt}", RateClass.PAYMENTS, 11)
    )
    assert all(decision.allowed for decision in decisions[:10])
    assert not decisions[10].allowed
    assert 1 <= decisions[10].retry_after_ms <= 100


async def test_the_limit_refills_at_its_rate(redis: Redis, settings: Settings) -> None:
    limiter = _limiter(redis, settings, payments=20)
    attempts: list[str] = []

    async def burst(attempt: int) -> tuple[list[RateDecision], float]:
        attempts.append(f"key_r{attempt}")
        return await checks(limiter, attempts[-1], RateClass.PAYMENTS, 21)

    decisions = await within_one_interval(20, burst)
    assert all(decision.allowed for decision in decisions[:20])
    refused = decisions[20]
    assert not refused.allowed
    await asyncio.sleep(refused.retry_after_ms / 1000 + 0.01)
    assert (await limiter.check(attempts[-1], RateClass.PAYMENTS)).allowed


async def test_keys_and_classes_have_separate_buckets(redis: Redis, settings: Settings) -> None:
    limiter = _limiter(redis, settings, payments=2, subscriptions=2, other=2)
    for _ in range(2):
        assert (await limiter.check("key_1", RateClass.PAYMENTS)).allowed
    assert not (await limiter.check("key_1", RateClass.PAYMENTS)).allowed
    assert (await limiter.check("key_2", RateClass.PAYMENTS)).allowed
    assert (await limiter.check("key_1", RateClass.SUBSCRIPTIONS)).allowed


async def test_a_zero_limit_disables_the_class(redis: Redis, settings: Settings) -> None:
    limiter = _limiter(redis, settings, other=0)
    assert all([(await limiter.check("key_z", RateClass.OTHER)).allowed for _ in range(50)])


@pytest_asyncio.fixture
async def limited_target(settings: Settings) -> AsyncIterator[str]:
    limited = settings.with_overrides(
        rate_limits_per_second={"payments": 100, "subscriptions": 10, "other": 3},
        redis_key_prefix=f"{settings.redis_key_prefix}{os.urandom(4).hex()}:",
    )
    async with serving(limited) as target:
        yield target


async def test_server_answers_resource_exhausted_with_a_retry_hint(
    limited_target: str, admin: Paycore
) -> None:
    async def burst(attempt: int) -> tuple[tuple[int, aio.AioRpcError | None], float]:
        """Four calls of a new merchant's key (a fresh bucket): how many were answered, and the
        error that stopped them."""
        merchant = await create_merchant(admin, limited_target)
        request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
        answered = 0
        async with merchant.client as client:
            started = time.monotonic()
            try:
                for _ in range(4):
                    await client.accounts.GetMerchant(request)
                    answered += 1
            except aio.AioRpcError as error:
                return (answered, error), time.monotonic() - started
            return (answered, None), time.monotonic() - started

    answered, refused = await within_one_interval(3, burst)
    assert answered == 3 and refused is not None, (answered, refused)
    error = rich_error(refused)
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "RATE_LIMITED"
    assert error.retry_delay_ms is not None and 1 <= error.retry_delay_ms <= 334
    assert int(error.trailing["retry-after-ms"]) == error.retry_delay_ms


async def test_a_merchants_keys_together_get_at_most_its_share(
    redis: Redis, settings: Settings
) -> None:
    """Each key has its own bucket, but a merchant could mint restricted keys without end and
    multiply its allowance (40 keys: 415 subscription calls in 2.6 s at 10/s per key). A key's
    check also counts against its merchant's bucket, `merchant_factor` times a key's rate: four
    keys of one merchant get two keys' worth in a burst; another merchant is not affected."""
    limiter = RateLimiter(
        redis,
        {"subscriptions": 5},
        f"{settings.redis_key_prefix}{os.urandom(4).hex()}:",
        merchant_factor=2,
    )

    async def burst(attempt: int) -> tuple[tuple[int, bool], float]:
        merchant = f"acct_m{attempt}"
        started = time.monotonic()
        decisions = [
            await limiter.check(f"key_{attempt}_{key}", RateClass.SUBSCRIPTIONS, merchant)
            for key in range(4)
            for _ in range(5)
        ]
        seconds = time.monotonic() - started
        other = await limiter.check(
            f"key_other{attempt}", RateClass.SUBSCRIPTIONS, f"acct_o{attempt}"
        )
        return (sum(decision.allowed for decision in decisions), other.allowed), seconds

    allowed, other_allowed = await within_one_interval(10, burst)
    assert (allowed, other_allowed) == (10, True)


@pytest_asyncio.fixture
async def merchant_bound_target(settings: Settings) -> AsyncIterator[str]:
    limited = settings.with_overrides(
        rate_limits_per_second={"payments": 100, "subscriptions": 10, "other": 2},
        rate_limit_merchant_factor=2,
        redis_key_prefix=f"{settings.redis_key_prefix}{os.urandom(4).hex()}:",
    )
    async with serving(limited) as target:
        yield target


async def test_the_server_bounds_a_merchants_keys_together(
    merchant_bound_target: str, admin: Paycore, settings: Settings
) -> None:
    """Over gRPC: four restricted keys of one merchant, three calls each at once (a key's
    burst is 2 at 2 per second): four answered (two keys' worth), the rest RATE_LIMITED."""

    async def burst(attempt: int) -> tuple[int, float]:
        merchant = await create_merchant(admin, merchant_bound_target)
        await merchant.client.close()
        # An operator acting for the merchant makes its keys: operators are not limited.
        operator = connect(
            merchant_bound_target, settings.admin_token, acting_for=merchant.merchant.id
        )
        async with operator as owner:
            keys = [
                await owner.accounts.CreateApiKey(
                    account_pb2.CreateApiKeyRequest(name=f"k{n}", scopes=["accounts:read"])
                )
                for n in range(4)
            ]
        request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
        clients = [connect(merchant_bound_target, key.secret, retries=False) for key in keys]

        async def one(client: Paycore) -> int:
            try:
                await client.accounts.GetMerchant(request)
            except aio.AioRpcError as error:
                assert rich_error(error).reason == "RATE_LIMITED", error
                return 0
            return 1

        try:
            started = time.monotonic()
            answers = await asyncio.gather(*(one(client) for client in clients for _ in range(3)))
            return sum(answers), time.monotonic() - started
        finally:
            for client in clients:
                await client.close()

    assert await within_one_interval(4, burst) == 4
