"""With the default retry settings, a payment made while the PSP is down for a few seconds
succeeds once it is back. With 5 attempts 100 ms apart and doubling, an execution was
dead-lettered about 1.5 s into an outage, so a single PSP restart left a low-traffic
merchant's payments `processing` until an operator requeued them; 10 attempts give about 50 s
of backoff (besides the breaker's pauses, which spend no attempt)."""

from __future__ import annotations

import asyncio
import time

import pytest
from paycore.config import Settings
from paycore.executor.retry import RetryPolicy
from paycore.v1 import executor_pb2, payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, good_card, run_executor_once

OUTAGE_SECONDS = 3.0
DEFAULTS = Settings()


@pytest.fixture
def payin_overrides() -> dict[str, object]:
    """The production defaults of the retries and the breaker, over PAYIN_TIMINGS' short ones."""
    names = (
        "executor_max_attempts",
        "executor_retry_base_ms",
        "psp_breaker_threshold",
        "psp_breaker_open_ms",
    )
    return {name: getattr(DEFAULTS, name) for name in names}


def test_the_default_backoff_outlasts_half_a_minute_before_a_dead_letter() -> None:
    policy = RetryPolicy(
        max_attempts=DEFAULTS.executor_max_attempts,
        base_seconds=DEFAULTS.executor_retry_base_ms / 1000,
    )
    least = sum(
        min(policy.cap_seconds, policy.base_seconds * 2 ** (attempt - 1)) / 2
        for attempt in range(1, policy.max_attempts)
    )
    assert least >= 25.0


async def test_a_payment_made_during_a_psp_outage_succeeds_after_it(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    await psp.set_faults(down=True)
    answered = await shop.pay(good_card(), 700, as_answered=True)
    assert answered.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    await asyncio.sleep(OUTAGE_SECONDS)
    await psp.set_faults(down=False)

    deadline = time.monotonic() + 30
    intent = answered
    while intent.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING:
        assert time.monotonic() < deadline, "still processing 30 s after the outage"
        await run_executor_once(payin.platform)
        await asyncio.sleep(0.2)
        intent = await shop.client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=answered.id)
        )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    (listed,) = (
        await shop.operator.executor.ListExecutions(
            executor_pb2.ListExecutionsRequest(payment_intent=answered.id)
        )
    ).data
    assert listed.state == executor_pb2.EXECUTION_STATE_SUCCEEDED
    await shop.assert_books_balance()
