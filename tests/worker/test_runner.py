"""The worker's loops: every job on every shard, errors counted and survived, a stop that
lets the run in progress finish."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from paycore.app import Platform, build_jobs
from paycore.worker import Worker
from paycore.worker.metrics import WorkerMetrics
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Scripted:
    """A job that fails on its first `failures` runs, then processes `backlog` items one per
    run, taking `seconds` per run."""

    failures: int = 0
    backlog: int = 0
    seconds: float = 0.0
    name: str = "scripted"
    interval_seconds: float = 0.05
    runs: list[AsyncEngine] = field(default_factory=list)
    finished: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, engine: AsyncEngine) -> int:
        self.runs.append(engine)
        self.started.set()
        await asyncio.sleep(self.seconds)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a job's bad day")
        self.finished += 1
        if self.backlog:
            self.backlog -= 1
            return 1
        return 0


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_errors_are_counted_and_the_loop_carries_on(platform: Platform) -> None:
    registry = CollectorRegistry()
    job = Scripted(failures=2, backlog=3)
    engines = platform.shards.engines
    worker = Worker([job], engines, WorkerMetrics(registry))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, grace_seconds=5))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if job.backlog == 0 and job.finished >= 5:
            break
    stop.set()
    await running

    assert job.backlog == 0
    assert set(job.runs) == set(engines)  # every physical shard
    errors = sum(
        _sample(
            registry,
            "paycore_worker_job_runs_total",
            job="scripted",
            shard=str(shard),
            outcome="error",
        )
        for shard in range(len(engines))
    )
    processed = sum(
        _sample(registry, "paycore_worker_job_processed_total", job="scripted", shard=str(shard))
        for shard in range(len(engines))
    )
    assert (errors, processed) == (2, 3)
    assert _sample(registry, "paycore_worker_job_run_seconds_count", job="scripted") == len(
        job.runs
    )


async def test_a_stop_lets_the_run_in_progress_finish(platform: Platform) -> None:
    job = Scripted(seconds=0.3, interval_seconds=0.0)
    worker = Worker([job], platform.shards.engines[:1], WorkerMetrics(CollectorRegistry()))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, grace_seconds=5))
    await asyncio.wait_for(job.started.wait(), timeout=5)
    stop.set()
    await running
    assert len(job.runs) == job.finished  # no run was cut short


async def test_a_run_longer_than_the_grace_is_cancelled(platform: Platform) -> None:
    job = Scripted(seconds=30, interval_seconds=0.0)
    worker = Worker([job], platform.shards.engines[:1], WorkerMetrics(CollectorRegistry()))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, grace_seconds=0.2))
    await asyncio.wait_for(job.started.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert job.finished == 0


async def test_run_once_drains_every_shard_and_reports_failures(platform: Platform) -> None:
    metrics = WorkerMetrics(CollectorRegistry())
    draining = Scripted(backlog=4)
    assert await Worker([draining], platform.shards.engines, metrics).run_once()
    assert draining.backlog == 0
    failing = Worker([Scripted(failures=1)], platform.shards.engines, metrics)
    assert not await failing.run_once()


async def test_the_platform_registers_the_shipped_jobs(platform: Platform) -> None:
    names = [job.name for job in build_jobs(platform)]
    assert names == [
        "outbox_publisher",
        "idempotency_key_pruner",
        "ledger_hold_expiry",
        "executor_resume",
        "subscription_billing",
        "webhook_delivery",
        "balance_availability",
        "payout_scheduling",
        "payout_tracking",
        "backlog_gauges",
        "ledger_integrity_gauge",
        "reconciliation",
        "dispute_feed",
        "authentication_feed",
        "early_fraud_warning_feed",
        "checkout_session_sweep",
        "exchange_rates",
    ]
    concurrent = Worker(
        build_jobs(platform),
        platform.shards.engines,
        WorkerMetrics(CollectorRegistry()),
        concurrency=2,
    )
    assert await concurrent.run_once()
