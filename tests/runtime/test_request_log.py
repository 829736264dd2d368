"""The per-call log line (issue 17): every failed call gets one; OK and rate-limited calls at
most PAYCORE_REQUEST_LOG_PER_SECOND a second, the rest counted on the next line written."""

from __future__ import annotations

import logging

import pytest
from grpc import aio
from paycore.client import connect
from paycore.config import Settings
from paycore.runtime.interceptors.request_log import LogBudget
from paycore.v1 import account_pb2

from tests.helpers import MerchantFixture, serving


def test_the_budget_writes_ok_lines_up_to_its_rate_and_counts_the_rest() -> None:
    now = [100.2]
    budget = LogBudget(2, clock=lambda: now[0])
    assert [budget.take(sampled=True) for _ in range(5)] == [0, 0, None, None, None]
    assert budget.take(sampled=False) == 3  # a failure always writes, with the skipped count
    assert budget.take(sampled=True) is None  # still the same second
    now[0] = 101.0
    assert budget.take(sampled=True) == 1
    assert budget.take(sampled=True) == 0


def test_a_budget_of_zero_writes_every_line() -> None:
    budget = LogBudget(0)
    assert [budget.take(sampled=True) for _ in range(100)] == [0] * 100


async def test_a_busy_server_logs_failures_and_a_bounded_share_of_ok_calls(
    settings: Settings, merchant: MerchantFixture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paycore.requests")
    async with serving(settings.with_overrides(request_log_per_second=3)) as target:
        async with connect(target, merchant.merchant.secret_key) as client:
            for _ in range(20):  # well within one or two seconds
                await client.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id=merchant.merchant.id)
                )
        async with connect(target, "sk_test_wrong") as client:
            with pytest.raises(aio.AioRpcError):
                await client.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id=merchant.merchant.id)
                )
    lines = [r.getMessage() for r in caplog.records if r.name == "paycore.requests"]
    ok = [line for line in lines if "code=OK" in line]
    failed = [line for line in lines if "code=UNAUTHENTICATED" in line]
    assert 3 <= len(ok) <= 9  # 3 a second, and 20 calls take at most a few seconds here
    assert len(failed) == 1
    skipped = sum(int(line.rpartition("skipped=")[2]) for line in lines)
    assert len(ok) + skipped == 20


async def test_a_client_past_its_rate_limit_gets_a_bounded_share_of_lines(
    settings: Settings, merchant: MerchantFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """ghz against a rate-limited method answers thousands of RESOURCE_EXHAUSTED a second:
    a line each flooded the log (and cost the CPU the limit is there to save)."""
    caplog.set_level(logging.INFO, logger="paycore.requests")
    limited = settings.with_overrides(
        request_log_per_second=3,
        rate_limits_per_second={"payments": 0, "subscriptions": 0, "other": 1},
    )
    refused = 0
    async with serving(limited) as target:
        async with connect(target, merchant.merchant.secret_key, retries=False) as client:
            for _ in range(40):  # well within one or two seconds
                try:
                    await client.accounts.GetMerchant(
                        account_pb2.GetMerchantRequest(id=merchant.merchant.id)
                    )
                except aio.AioRpcError as error:
                    assert error.code().name == "RESOURCE_EXHAUSTED", error
                    refused += 1
        # A failure of another kind always gets its line, with the count of those skipped.
        async with connect(target, "sk_test_wrong", retries=False) as client:
            with pytest.raises(aio.AioRpcError):
                await client.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id=merchant.merchant.id)
                )
    lines = [r.getMessage() for r in caplog.records if r.name == "paycore.requests"]
    limited_lines = [line for line in lines if "code=RESOURCE_EXHAUSTED" in line]
    assert refused >= 30, refused
    assert 1 <= len(limited_lines) <= 12, len(limited_lines)
    skipped = sum(int(line.rpartition("skipped=")[2]) for line in lines)
    assert len(lines) - 1 + skipped == 40
