"""The connection pools' use, read at scrape time (a pool's counters are in memory):
`paycore_db_pool_connections{shard, state}` with state `checked_out`, `idle` and `limit`
(pool size plus overflow), so an alert can fire before calls queue for a connection.

Under `paycore serve --workers N` the supervisor serves only what its workers wrote to
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode), where a collector read at
scrape time never reaches: each worker then publishes its pools' use there every second
(`publish_pool_use`), one series per worker (`pid`), which the rules' `max by (instance, shard)`
reads as the fullest worker's pool."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

NAME = "paycore_db_pool_connections"
DOCUMENTATION = "Connections of each physical shard's pool: checked_out, idle, and the limit."
LABELS = ("shard", "state")


def pool_use(engines: Sequence[AsyncEngine]) -> Iterator[tuple[str, str, int]]:
    """(shard, state, connections) of every pool."""
    for shard, engine in enumerate(engines):
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            continue
        label = str(shard)
        yield label, "checked_out", pool.checkedout()
        yield label, "idle", pool.checkedin()
        yield label, "limit", pool.size() + pool._max_overflow


class PoolCollector(Collector):
    def __init__(self, engines: Sequence[AsyncEngine]) -> None:
        self._engines = list(engines)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(NAME, DOCUMENTATION, labels=list(LABELS))
        for shard, state, value in pool_use(self._engines):
            family.add_metric([shard, state], value)
        yield family


async def publish_pool_use(engines: Sequence[AsyncEngine], interval_seconds: float = 1.0) -> None:
    """Writes the pools' use to the multiprocess directory until cancelled (a worker of
    `serve --workers N`; only there is a Gauge not registered anywhere still scraped)."""
    gauge = Gauge(NAME, DOCUMENTATION, LABELS, registry=None, multiprocess_mode="liveall")
    while True:
        for shard, state, value in pool_use(engines):
            gauge.labels(shard, state).set(value)
        await asyncio.sleep(interval_seconds)
