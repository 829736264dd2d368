"""`paycore worker [--concurrency N] [--once]`: the background-work process.

Builds the platform (the one composition root), the jobs (paycore.app.build_jobs) and serves
the worker's metrics on PAYCORE_WORKER_METRICS_ADDR. SIGTERM or SIGINT: every loop finishes
the run it is in (within PAYCORE_SHUTDOWN_GRACE_SECONDS), then the process exits 0. `--once`
drains due work on every shard and exits: 0 when every run succeeded, 1 otherwise."""

from __future__ import annotations

import logging

from paycore.config import Settings
from paycore.runtime.process import split_address, stop_on_signal
from paycore.worker.metrics import WorkerMetrics
from paycore.worker.runner import Worker
from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger(__name__)


def run_worker(settings: Settings, *, concurrency: int, once: bool) -> None:
    from paycore.runtime.process import run_async

    settings.require_servers()
    failed: list[bool] = []

    async def main() -> None:
        failed.append(not await work(settings, concurrency=concurrency, once=once))

    run_async(main())
    if failed[0]:
        raise SystemExit(1)


async def work(settings: Settings, *, concurrency: int, once: bool) -> bool:
    """Whether every run succeeded (always True for a worker stopped by a signal)."""
    from paycore.app import build_jobs, build_platform

    registry = CollectorRegistry()
    platform = build_platform(settings, registry)
    try:
        await platform.shards.watch_map()
        worker = Worker(
            build_jobs(platform),
            platform.shards.engines,
            WorkerMetrics(registry),
            concurrency=concurrency,
        )
        if once:
            return await worker.run_once()
        host, port = split_address(settings.worker_metrics_addr)
        metrics_http, _ = start_http_server(port, host, registry)
        try:
            await worker.run(stop_on_signal(), settings.shutdown_grace_seconds)
        finally:
            metrics_http.shutdown()
        logger.info("worker stopped")
        return True
    finally:
        await platform.close()
