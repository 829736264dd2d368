"""The operators' gauge: open discrepancies by kind (every merchant, every shard), set after
each run and each resolution by whichever process did it."""

from __future__ import annotations

from collections.abc import Mapping

from paycore.reconciliation.models import Kind
from prometheus_client import CollectorRegistry, Gauge


class ReconciliationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._open = Gauge(
            "paycore_reconciliation_open_discrepancies",
            "Open reconciliation discrepancies, by kind.",
            ["kind"],
            registry=registry,
        )

    def set_open(self, counts: Mapping[str, int]) -> None:
        for kind in Kind:
            self._open.labels(kind.value).set(counts.get(kind.value, 0))
