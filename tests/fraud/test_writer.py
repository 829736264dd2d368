"""Assessments written behind the answer, and the scoring benchmark."""

from __future__ import annotations

import gc
import time
from dataclasses import replace

from paycore.app import Platform
from paycore.config import Settings
from paycore.fraud.metrics import FraudMetrics
from paycore.fraud.servicer.requests import payment_facts
from paycore.fraud.writer import AssessmentWriter
from paycore.storage.schema import fraud_assessments
from paycore.tools.bench.fraud import report, run_fraud_bench
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from tests.fraud.support import in_process, returning_customer
from tests.helpers import MerchantFixture, as_a_call, merchant_call


async def _stored(platform: Platform, merchant_id: str) -> dict[str, str]:
    async with platform.shards.read(merchant_id) as connection:
        rows = await connection.execute(
            select(fraud_assessments.c.payment, fraud_assessments.c.model_version).where(
                fraud_assessments.c.merchant_id == merchant_id
            )
        )
        return {row.payment: row.model_version for row in rows}


async def test_in_process_assessments_are_stored_once_flushed(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    requests = [returning_customer(merchant_id) for _ in range(30)]
    for request in requests:
        await platform.fraud.score_payment(merchant_id, in_process(merchant_id, request))
    await platform.fraud.flush()
    stored = await _stored(platform, merchant_id)
    assert set(stored) == {request.payment for request in requests}
    assert set(stored.values()) == {platform.fraud.model_version}


async def test_a_full_queue_refuses_and_close_writes_what_it_holds(
    platform: Platform, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    writer = AssessmentWriter(platform.shards, FraudMetrics(CollectorRegistry()), queue_max=1)
    scored = []
    for _ in range(2):
        facts = payment_facts(merchant_id, returning_customer(merchant_id), time.time_ns() // 10**6)
        async with platform.shards.read(merchant_id) as connection:
            scored.append(await platform.fraud.evaluate(connection, facts))
    assert writer.submit(scored[0].assessment)
    assert not writer.submit(scored[1].assessment)  # the caller writes this one itself
    await writer.close()
    stored = await _stored(platform, merchant_id)
    assert scored[0].assessment.payment in stored
    assert scored[1].assessment.payment not in stored


async def test_a_batch_that_fails_stores_none_of_it(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """A batch is written all or none (the writer retries a failed one whole, so rows it wrote
    before failing would be written twice, or block every retry): one assessment whose id
    repeats another's fails the batch, and none of its three is stored."""
    merchant_id = merchant.merchant.id
    writer = AssessmentWriter(platform.shards, FraudMetrics(CollectorRegistry()), attempts_max=1)
    scored = []
    for _ in range(2):
        facts = payment_facts(merchant_id, returning_customer(merchant_id), time.time_ns() // 10**6)
        async with platform.shards.read(merchant_id) as connection:
            scored.append((await platform.fraud.evaluate(connection, facts)).assessment)
    repeated = replace(scored[1], payment=f"{scored[1].payment}_again")
    for assessment in (*scored, repeated):
        assert writer.submit(assessment)
    await writer.close()
    stored = await _stored(platform, merchant_id)
    assert not {scored[0].payment, scored[1].payment, repeated.payment} & set(stored)


async def test_the_worker_keeps_nothing_of_the_call_that_started_it(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """The worker starts on the first submit, inside a call scoring a payment on the
    connection it holds (ConfirmPaymentIntent's `reads_held`), and writes for every later
    caller: it must not run as that first call, nor keep it (its caller's key, its held
    connection) alive for the life of the process."""
    merchant_id = merchant.merchant.id
    writer = AssessmentWriter(platform.shards, FraudMetrics(CollectorRegistry()))
    facts = payment_facts(merchant_id, returning_customer(merchant_id), time.time_ns() // 10**6)
    async with platform.shards.read(merchant_id) as connection:
        assessment = (await platform.fraud.evaluate(connection, facts)).assessment

    async def scoring() -> None:
        async with platform.shards.reads_held(merchant_id):
            assert writer.submit(assessment)

    try:
        call = await as_a_call(merchant_call(merchant_id), scoring)
        await writer.flush()
        gc.collect()
        assert call() is None
    finally:
        await writer.close()
    assert assessment.payment in await _stored(platform, merchant_id)


async def test_the_benchmark_measures_every_phase(migrated: Settings) -> None:
    figures = await run_fraud_bench(
        migrated.database_urls[0],
        migrated.redis_url,
        requests=40,
        concurrency=4,
        with_pgbench=False,
    )
    assert [phase.histogram.count for phase in figures.phases] == [40, 40, 40, 10]
    text = report(figures)
    assert "score_payment, one at a time" in text and "target: p99 <= 5 ms" in text


async def test_platform_close_writes_what_is_left(
    migrated: Settings, merchant: MerchantFixture
) -> None:
    from paycore.app import build_platform

    own = build_platform(migrated, CollectorRegistry())
    merchant_id = merchant.merchant.id
    request = returning_customer(merchant_id)
    await own.fraud.score_payment(merchant_id, in_process(merchant_id, request))
    await own.close()
    reader = build_platform(migrated, CollectorRegistry())
    try:
        async with reader.shards.read(merchant_id) as connection:
            count = (
                await connection.execute(
                    select(func.count()).where(
                        fraud_assessments.c.merchant_id == merchant_id,
                        fraud_assessments.c.payment == request.payment,
                    )
                )
            ).scalar_one()
    finally:
        await reader.close()
    assert count == 1
