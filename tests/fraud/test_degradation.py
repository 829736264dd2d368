"""Redis down: scoring goes on from the request alone, quickly, with the stated policy, and
counts it (issue 5, "Degradation")."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from paycore.app import build_platform
from paycore.config import Settings
from paycore.fraud.rules import Decision
from prometheus_client import CollectorRegistry

from tests.fraud.support import in_process, returning_customer
from tests.helpers import MerchantFixture


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound and never listened on: every connection to it is refused at once, and no
    other process can take it while the test holds it (a port found free and let go can be)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


async def test_scoring_without_redis_answers_fast_and_holds_large_amounts(
    migrated: Settings, merchant: MerchantFixture, refused_port: int
) -> None:
    nowhere = migrated.with_overrides(
        redis_url=f"redis://127.0.0.1:{refused_port}/0",
        fraud_redis_timeout_ms=Settings().fraud_redis_timeout_ms,  # the shipped budget
    )
    registry = CollectorRegistry()
    platform = build_platform(nowhere, registry)
    try:
        fraud = platform.fraud
        merchant_id = merchant.merchant.id
        small = in_process(merchant_id, returning_customer(merchant_id, amount=2_500))
        large = in_process(merchant_id, returning_customer(merchant_id, amount=90_000))
        started = time.perf_counter()
        allowed = await fraud.score_payment(merchant_id, small)
        held = await fraud.score_payment(merchant_id, large)
        for _ in range(8):
            await fraud.score_payment(
                merchant_id, in_process(merchant_id, returning_customer(merchant_id))
            )
        elapsed = time.perf_counter() - started
        await fraud.record_payment_outcome(merchant_id, small, succeeded=False)
    finally:
        await platform.close()
    assert allowed.decision is Decision.ALLOW
    assert "velocity_unavailable" in allowed.assessment.reasons
    assert held.decision is Decision.REVIEW
    assert held.review.startswith("prv_")
    assert "velocity_unavailable" in held.assessment.reasons
    assert elapsed < 1.0, f"ten degraded scorings took {elapsed:.3f}s"
    degraded = registry.get_sample_value("paycore_fraud_degraded_total", {"operation": "score"})
    assert degraded == 10
    assert registry.get_sample_value("paycore_fraud_degraded_total", {"operation": "outcome"}) == 1
