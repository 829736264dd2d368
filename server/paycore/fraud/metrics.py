"""Prometheus metrics of fraud scoring."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Seconds: scoring should land well under 5 ms.
SCORING_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1)


class FraudMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.degraded = Counter(
            "paycore_fraud_degraded_total",
            "Scorings (operation=score) and outcomes (operation=outcome) done without the"
            " velocity counters because Redis did not answer.",
            ("operation",),
            registry=registry,
        )
        self.decisions = Counter(
            "paycore_fraud_decisions_total",
            "Assessments by decision.",
            ("decision",),
            registry=registry,
        )
        self.assessments_dropped = Counter(
            "paycore_fraud_assessments_dropped_total",
            "Assessments the background writer could not store after every retry.",
            registry=registry,
        )
        self.scoring_seconds = Histogram(
            "paycore_fraud_scoring_seconds",
            "Time to score one payment: counters, blocklists, rules, model, storing it.",
            buckets=SCORING_BUCKETS,
            registry=registry,
        )
