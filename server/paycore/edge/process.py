"""`paycore edge`: the REST edge alone, in front of a gRPC server (ours or a load balancer)."""

from __future__ import annotations

import logging

from paycore.config import Settings
from paycore.edge.app import start_edge
from paycore.runtime.process import split_address, stop_on_signal
from paycore.runtime.tls import grpc_caller_tls, http_server_tls
from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger(__name__)


async def run_edge(settings: Settings, grpc_target: str, internal_target: str = "") -> None:
    """Serves until SIGTERM or SIGINT: operator routes, HTTPS and TLS to gRPC as `settings`
    say; the internal services are called at `internal_target` when it is set; /metrics at
    PAYCORE_EDGE_METRICS_ADDR."""
    http_addr = settings.http_addr
    tls = http_server_tls(settings)
    registry = CollectorRegistry()
    edge = await start_edge(
        grpc_target,
        http_addr,
        settings.edge_operator_routes,
        tls=tls,
        upstream_tls=grpc_caller_tls(settings),
        pages_token=settings.internal_token or settings.admin_token,
        trusted_proxies=settings.edge_trusted_proxies,
        internal_target=internal_target,
        registry=registry,
    )
    metrics_host, metrics_port = split_address(settings.edge_metrics_addr)
    try:
        metrics_http, _ = start_http_server(metrics_port, metrics_host, registry)
    except BaseException:
        await edge.close()
        raise
    scheme = "https" if tls else "http"
    stop = stop_on_signal()
    logger.info(
        "REST edge on %s://%s (port %d) -> gRPC %s", scheme, http_addr, edge.port, grpc_target
    )
    logger.info("edge metrics on http://%s/metrics", settings.edge_metrics_addr)
    try:
        await stop.wait()
    finally:
        metrics_http.shutdown()
        await edge.close()
    logger.info("edge stopped")
