"""Prometheus metrics of the gRPC server, named as the go-grpc-prometheus convention has it so
that existing dashboards work: grpc_server_started_total, grpc_server_handled_total and
grpc_server_handling_seconds, labelled grpc_type, grpc_service, grpc_method (and grpc_code)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Seconds; a payment's gRPC call should land in the low buckets.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABELS = ("grpc_type", "grpc_service", "grpc_method")


class GrpcMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.started = Counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            _LABELS,
            registry=registry,
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            (*_LABELS, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency of RPCs handled by the server.",
            _LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
