"""`paycore serve`: one process, or a supervisor of N worker processes sharing the gRPC port
(SO_REUSEPORT) so that every core serves calls.

With workers, each writes its metrics to PROMETHEUS_MULTIPROC_DIR and the supervisor alone
serves /metrics, summed over the workers (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

from paycore.config import Settings
from paycore.runtime.process import run_async, split_address
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

logger = logging.getLogger(__name__)
WORKER_ENV = "PAYCORE_WORKER"
SUPERVISOR_ENV = "PAYCORE_WORKER_SUPERVISOR"


def serve(settings: Settings, workers: int = 1) -> None:
    settings.require_servers()
    if workers > 1:
        supervise(settings, workers)
        return
    run_async(serve_one(settings, expose_metrics=WORKER_ENV not in os.environ))


async def serve_one(settings: Settings, *, expose_metrics: bool) -> None:
    from paycore.app import build_platform, start_server
    from paycore.background import spawn
    from paycore.runtime.server import serve_until_signalled
    from paycore.storage.pool_metrics import publish_pool_use

    registry = CollectorRegistry()
    metrics_http = None
    if expose_metrics:
        host, port = split_address(settings.metrics_addr)
        metrics_http, _ = start_http_server(port, host, registry)
        logger.info("metrics on http://%s/metrics", settings.metrics_addr)
    try:
        platform = build_platform(settings, registry)
        # A worker of `serve --workers N` shares the port with the others; one process alone
        # holds it (another process on it fails the start).
        worker = WORKER_ENV in os.environ
        started = start_server(platform, settings.grpc_addr, share_port=worker)
        # A worker's scrape-time collectors reach no one: it publishes its pools' use instead;
        # and it stops by itself when its supervisor dies without passing SIGTERM on.
        tasks = (
            [
                spawn(publish_pool_use(platform.shards.engines), name="pool-use"),
                spawn(stop_when_orphaned(), name="orphan-watch"),
            ]
            if worker
            else []
        )

        async def close() -> None:
            for task in tasks:
                task.cancel()
            await platform.close()

        await serve_until_signalled(settings, started, close)
    finally:
        if metrics_http is not None:
            metrics_http.shutdown()


async def stop_when_orphaned(interval_seconds: float = 0.5) -> None:
    """SIGTERMs this worker once its supervisor is gone (killed outright: SIGKILL, the OOM
    killer), so that it stops as gracefully as when told to, instead of serving the shared port
    on beside the supervisor's next start. The supervisor's pid comes from the environment, so
    a worker orphaned while it was still starting notices too."""
    supervisor = int(os.environ.get(SUPERVISOR_ENV, "0")) or os.getppid()
    while os.getppid() == supervisor:  # noqa: ASYNC110 - a parent's death wakes no event here
        await asyncio.sleep(interval_seconds)
    logger.warning("the supervisor (pid %d) is gone: stopping", supervisor)
    os.kill(os.getpid(), signal.SIGTERM)


def supervise(settings: Settings, workers: int) -> None:
    """Starts the workers, serves their summed metrics, and passes SIGTERM/SIGINT on to them;
    if one dies, stops the rest and exits non-zero so that the service manager restarts us."""
    with tempfile.TemporaryDirectory(prefix="paycore-metrics-") as metrics_dir:
        env = {
            **os.environ,
            WORKER_ENV: "1",
            SUPERVISOR_ENV: str(os.getpid()),
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        }
        children = [
            subprocess.Popen([sys.executable, "-m", "paycore.cli", "serve"], env=env)
            for _ in range(workers)
        ]
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
        host, port = split_address(settings.metrics_addr)
        metrics_http, _ = start_http_server(port, host, registry)
        stopping = False

        def forward(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        logger.info("supervising %d workers on %s", workers, settings.grpc_addr)
        exit_code = 0
        while any(child.poll() is None for child in children):
            if not stopping and any(child.poll() is not None for child in children):
                logger.error("a worker exited unexpectedly; stopping the others")
                exit_code = 1
                forward(signal.SIGTERM, None)
            time.sleep(0.2)
        metrics_http.shutdown()
    if exit_code:
        raise SystemExit(exit_code)
