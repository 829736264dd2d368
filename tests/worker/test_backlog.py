"""The backlog and integrity gauges the alerts read (paycore.worker.backlog)."""

from __future__ import annotations

from paycore.app import Platform
from paycore.client import Paycore
from paycore.v1 import subscription_pb2
from paycore.worker import Job
from paycore.worker.backlog import BacklogGauges, BacklogMetrics, LedgerIntegrityGauge
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.helpers import MerchantFixture
from tests.ledger.support import account as ledger_account


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


async def test_the_outbox_gauges_follow_unpublished_events(
    platform: Platform, merchant: MerchantFixture
) -> None:
    registry = CollectorRegistry()
    job = BacklogGauges(BacklogMetrics(registry), platform.shards.engines)
    await merchant.client.subscriptions.CreateProduct(
        subscription_pb2.CreateProductRequest(name="Gauge probe")
    )
    unpublished = 0.0
    for engine in platform.shards.engines:
        assert await job.run(engine) == 0
    for shard in range(len(platform.shards.engines)):
        unpublished += gauge(registry, "paycore_outbox_unpublished", shard=str(shard))
        assert gauge(registry, "paycore_executor_dead_letters", shard=str(shard)) >= 0
    assert unpublished >= 1  # product.created at least
    assert (
        max(
            gauge(registry, "paycore_outbox_oldest_unpublished_seconds", shard=str(shard))
            for shard in range(len(platform.shards.engines))
        )
        > 0
    )

    publisher = next(job for job in _jobs(platform) if job.name == "outbox_publisher")
    for engine in platform.shards.engines:
        while await publisher.run(engine):
            pass
        await job.run(engine)
    for shard in range(len(platform.shards.engines)):
        assert gauge(registry, "paycore_outbox_unpublished", shard=str(shard)) == 0
        assert gauge(registry, "paycore_outbox_oldest_unpublished_seconds", shard=str(shard)) == 0


async def test_the_integrity_gauge_counts_a_corrupted_balance(
    platform: Platform, admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    account_id = await ledger_account(admin, merchant_id, "integrity_probe")
    engine = platform.shards.engine_for_merchant(merchant_id)
    shard = str(platform.shards.engines.index(engine))
    registry = CollectorRegistry()
    job = LedgerIntegrityGauge(BacklogMetrics(registry), platform.shards.engines, clock=lambda: 7)

    def differing() -> float:
        return gauge(
            registry, "paycore_ledger_integrity_mismatches", shard=shard, kind="balance_differs"
        )

    await job.run(engine)
    assert differing() == 0
    assert gauge(registry, "paycore_ledger_integrity_checked_timestamp_seconds", shard=shard) == 7
    corrupt = "UPDATE ledger_accounts SET debits_posted = debits_posted + :delta WHERE id = :id"
    async with engine.begin() as connection:
        await connection.execute(text(corrupt), {"delta": 1, "id": account_id})
    try:
        await job.run(engine)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(corrupt), {"delta": -1, "id": account_id})
    assert differing() == 1
    await job.run(engine)
    assert differing() == 0


def _jobs(platform: Platform) -> list[Job]:
    from paycore.app import build_jobs

    return list(build_jobs(platform))
