"""Pay-out's metric for alerts (deploy/prometheus/rules.yaml): payouts that failed, by the
bank's failure code, counted by the process that recorded the failure."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PayoutMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.failed = Counter(
            "paycore_payouts_failed",
            "Payouts that failed (refused by the bank, returned after paid, or never sent).",
            ["failure_code"],
            registry=registry,
        )
