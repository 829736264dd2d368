"""The connection pools' use, read at scrape time (a pool's counters are in memory):
`paycore_db_pool_connections{shard, state}` with state `checked_out`, `idle` and `limit`
(pool size plus overflow), so an alert can fire before calls queue for a connection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


class PoolCollector(Collector):
    def __init__(self, engines: Sequence[AsyncEngine]) -> None:
        self._engines = list(engines)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "paycore_db_pool_connections",
            "Connections of each physical shard's pool: checked_out, idle, and the limit.",
            labels=["shard", "state"],
        )
        for shard, engine in enumerate(self._engines):
            pool = engine.sync_engine.pool
            if not isinstance(pool, QueuePool):
                continue
            label = str(shard)
            family.add_metric([label, "checked_out"], pool.checkedout())
            family.add_metric([label, "idle"], pool.checkedin())
            family.add_metric([label, "limit"], pool.size() + pool._max_overflow)
        yield family
