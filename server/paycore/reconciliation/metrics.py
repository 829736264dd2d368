"""The operators' metrics: open discrepancies by kind (every merchant, every shard), set by the
worker after each run and recounted by its job every minute (paycore.reconciliation.job); runs
finished by source and status
(a failed run is final: no daily job runs its day again, an operator does)."""

from __future__ import annotations

from collections.abc import Mapping

from paycore.reconciliation.models import Kind, RunStatus, Source
from prometheus_client import CollectorRegistry, Counter, Gauge


class ReconciliationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._open = Gauge(
            "paycore_reconciliation_open_discrepancies",
            "Open reconciliation discrepancies, by kind.",
            ["kind"],
            registry=registry,
        )
        self._runs = Counter(
            "paycore_reconciliation_runs",
            "Reconciliation runs finished, by source and status.",
            ["source", "status"],
            registry=registry,
        )

    def run_finished(self, source: Source, status: RunStatus) -> None:
        self._runs.labels(source.value, status.value).inc()

    def set_open(self, counts: Mapping[str, int]) -> None:
        for kind in Kind:
            self._open.labels(kind.value).set(counts.get(kind.value, 0))
