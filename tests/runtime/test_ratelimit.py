"""Rate limits per key and route class, in Redis, answered with RESOURCE_EXHAUSTED and a hint."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from paycore.client import Paycore
from paycore.config import Settings
from paycore.ratelimit import RateLimiter
from paycore.runtime.policy import RateClass
from paycore.v1 import account_pb2
from redis.asyncio import Redis

from tests.helpers import create_merchant, rich_error, serving


def _limiter(redis: Redis, settings: Settings, **limits: int) -> RateLimiter:
    prefix = f"{settings.redis_key_prefix}{os.urandom(4).hex()}:"
    return RateLimiter(redis, limits, prefix)


async def test_a_burst_of_the_limit_passes_then_the_next_waits(
    redis: Redis, settings: Settings
) -> None:
    limiter = _limiter(redis, settings, payments=10, other=100)
    decisions = [await limiter.check("key_a", RateClass.PAYMENTS) for _ in range(11)]
    assert all(decision.allowed for decision in decisions[:10])
    assert not decisions[10].allowed
    assert 1 <= decisions[10].retry_after_ms <= 100


async def test_the_limit_refills_at_its_rate(redis: Redis, settings: Settings) -> None:
    limiter = _limiter(redis, settings, payments=20)
    for _ in range(20):
        assert (await limiter.check("key_r", RateClass.PAYMENTS)).allowed
    refused = await limiter.check("key_r", RateClass.PAYMENTS)
    assert not refused.allowed
    await asyncio.sleep(refused.retry_after_ms / 1000 + 0.01)
    assert (await limiter.check("key_r", RateClass.PAYMENTS)).allowed


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
    merchant = await create_merchant(admin, limited_target)
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    async with merchant.client as client:
        for _ in range(3):
            await client.accounts.GetMerchant(request)
        with pytest.raises(aio.AioRpcError) as raised:
            await client.accounts.GetMerchant(request)
    error = rich_error(raised.value)
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "RATE_LIMITED"
    assert error.retry_delay_ms is not None and 1 <= error.retry_delay_ms <= 334
    assert int(error.trailing["retry-after-ms"]) == error.retry_delay_ms
