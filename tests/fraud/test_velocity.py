"""The Redis script counts exactly what training's in-memory replay counts: the model sees
the same features in production as it was trained on."""

from __future__ import annotations

import secrets
from dataclasses import replace

from paycore.config import Settings
from paycore.fraud.features import PLATFORM_FEATURES, VELOCITY_FEATURES
from paycore.fraud.generator import CARD_TESTING, GeneratorConfig, generate
from paycore.fraud.replay import MemoryCounters
from paycore.fraud.velocity import VelocityCounters
from redis.asyncio import Redis


async def test_redis_counters_match_the_training_replay(redis: Redis, settings: Settings) -> None:
    history = generate(GeneratorConfig(seed=5, days=2, warmup_days=0, customers=300))
    burst_start = next(
        index for index, payment in enumerate(history) if payment.pattern == CARD_TESTING
    )
    # Ordinary traffic, then a card-testing burst with what surrounds it.
    sample = history[: min(150, burst_start)] + history[burst_start : burst_start + 120]
    # The platform's own view of a client address, from several merchants, for a few of them.
    sample = [
        replace(payment, facts=replace(payment.facts, client_ip=f"192.0.2.{index % 3}"))
        if index % 4 == 0
        else payment
        for index, payment in enumerate(sample)
    ]
    prefix = f"{settings.redis_key_prefix}velocity-{secrets.token_hex(4)}:"
    counters = VelocityCounters(redis, prefix, retry_after_ms=1000)
    memory = MemoryCounters()
    nonzero: set[str] = set()
    for payment in sample:
        expected = memory.observe(payment.facts)
        observed = await counters.observe(payment.facts, payment.facts.payment)
        assert observed == expected, payment
        nonzero |= {
            name for name in (*VELOCITY_FEATURES, *PLATFORM_FEATURES) if observed.counts[name] > 1
        }
        if payment.declined:
            memory.record_decline(payment.facts)
            assert await counters.record_decline(payment.facts, payment.facts.payment)
    assert {
        "ip_attempts_1m",
        "ip_cards_1h",
        "ip_declines_1h",
        "merchant_attempts_1d",
        "platform_ip_merchants_1d",
    } <= nonzero


async def test_scoring_the_same_payment_twice_counts_it_once(
    redis: Redis, settings: Settings
) -> None:
    history = generate(GeneratorConfig(seed=9, days=1, warmup_days=0, customers=50))
    payment = next(payment for payment in history if payment.facts.customer)
    counters = VelocityCounters(
        redis, f"{settings.redis_key_prefix}once-{secrets.token_hex(4)}:", 1000
    )
    first = await counters.observe(payment.facts, payment.facts.payment)
    later = replace(payment.facts, timestamp_ms=payment.facts.timestamp_ms + 1000)
    second = await counters.observe(later, payment.facts.payment)
    assert first is not None and second is not None
    assert first.counts["card_attempts_1h"] == second.counts["card_attempts_1h"] == 1
    assert (
        first.first_card_for_customer != second.first_card_for_customer
        or not payment.facts.customer
    )
