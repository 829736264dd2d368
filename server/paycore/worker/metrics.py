"""Prometheus metrics of the worker's jobs."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "paycore_worker_job_runs_total",
            "Job runs, by job, physical shard and outcome (ok or error).",
            ("job", "shard", "outcome"),
            registry=registry,
        )
        self.processed = Counter(
            "paycore_worker_job_processed_total",
            "Items the job's runs processed (events published, keys pruned, holds expired).",
            ("job", "shard"),
            registry=registry,
        )
        self.run_seconds = Histogram(
            "paycore_worker_job_run_seconds",
            "Duration of one job run on one shard.",
            ("job",),
            buckets=RUN_BUCKETS,
            registry=registry,
        )
