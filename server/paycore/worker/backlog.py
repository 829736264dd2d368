"""Gauges for alerts (deploy/prometheus/), read by worker jobs: the outbox's unpublished events
and the age of the oldest, the executions in the dead-letter list, webhook deliveries waiting
past their time, and the ledger's integrity.

They are read by a job rather than at scrape time because a scrape cannot wait on a database;
each run is two index-backed statements per shard."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence

from paycore.ledger import integrity
from paycore.ledger.models import MismatchKind
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_OUTBOX = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
    " FROM events WHERE published_at IS NULL"
)
_DEAD_LETTERS = text("SELECT count(*) FROM executions WHERE state = 'dead_lettered'")
# Deliveries due and not yet attempted (webhook_deliveries_due_idx): their age is the lag.
_WEBHOOKS_DUE = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)"
    " FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()"
)


class BacklogMetrics:
    """The gauges, made once per process (a registry refuses a second metric of one name)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def by_shard(name: str, documentation: str, *labels: str) -> Gauge:
            return Gauge(name, documentation, ["shard", *labels], registry=registry)

        self.outbox_unpublished = by_shard(
            "paycore_outbox_unpublished",
            "Events committed but not yet handed to the publisher, by physical shard.",
        )
        self.outbox_oldest_seconds = by_shard(
            "paycore_outbox_oldest_unpublished_seconds",
            "Age of the oldest event not yet published (0 when none wait), by physical shard.",
        )
        self.dead_letters = by_shard(
            "paycore_executor_dead_letters",
            "Executions in the dead-letter list, waiting for an operator, by physical shard.",
        )
        self.webhooks_due = by_shard(
            "paycore_webhook_deliveries_due",
            "Webhook deliveries due now and not yet attempted, by physical shard.",
        )
        self.webhooks_oldest_due_seconds = by_shard(
            "paycore_webhook_oldest_due_seconds",
            "How long the longest-waiting due webhook delivery has waited, by physical shard.",
        )
        self.integrity_mismatches = by_shard(
            "paycore_ledger_integrity_mismatches",
            "What the last integrity check of a shard found wrong, by kind (0 = sound).",
            "kind",
        )
        self.integrity_checked = by_shard(
            "paycore_ledger_integrity_checked_timestamp_seconds",
            "When the shard's ledger integrity was last checked (unix seconds).",
        )


class BacklogGauges:
    """A worker job: sets the backlog gauges of one shard per run; processes nothing, so the
    loop waits `interval_seconds` between runs."""

    name = "backlog_gauges"
    interval_seconds = 15.0

    def __init__(self, metrics: BacklogMetrics, engines: Sequence[AsyncEngine]) -> None:
        self._metrics = metrics
        self._engines = list(engines)

    async def run(self, engine: AsyncEngine) -> int:
        shard = str(self._engines.index(engine))
        async with engine.connect() as connection:
            waiting, oldest_seconds = (await connection.execute(_OUTBOX)).one()
            dead_letters = (await connection.execute(_DEAD_LETTERS)).scalar_one()
            webhooks_due, webhooks_oldest_seconds = (await connection.execute(_WEBHOOKS_DUE)).one()
        self._metrics.outbox_unpublished.labels(shard).set(waiting)
        self._metrics.outbox_oldest_seconds.labels(shard).set(float(oldest_seconds))
        self._metrics.dead_letters.labels(shard).set(dead_letters)
        self._metrics.webhooks_due.labels(shard).set(webhooks_due)
        self._metrics.webhooks_oldest_due_seconds.labels(shard).set(float(webhooks_oldest_seconds))
        return 0


class LedgerIntegrityGauge:
    """A worker job: CheckIntegrity of one whole shard (its own snapshot), published as
    `paycore_ledger_integrity_mismatches{shard, kind}` and the time it last ran. Hourly by
    default: it reads every account and entry of the shard."""

    name = "ledger_integrity_gauge"

    def __init__(
        self,
        metrics: BacklogMetrics,
        engines: Sequence[AsyncEngine],
        interval_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._metrics = metrics
        self._engines = list(engines)
        self.interval_seconds = interval_seconds
        self._clock = clock

    async def run(self, engine: AsyncEngine) -> int:
        shard = str(self._engines.index(engine))
        report = await integrity.check_engines([engine], int(self._clock()))
        found = Counter(mismatch.kind for mismatch in report.mismatches)
        for kind in MismatchKind:
            self._metrics.integrity_mismatches.labels(shard, kind.value).set(found[kind])
        self._metrics.integrity_checked.labels(shard).set(report.checked)
        return 0
