"""`paycore edge`: the REST edge alone, in front of a gRPC server (ours or a load balancer)."""

from __future__ import annotations

import logging

from paycore.config import Settings
from paycore.edge.app import start_edge
from paycore.runtime.process import stop_on_signal
from paycore.runtime.tls import grpc_caller_tls, http_server_tls

logger = logging.getLogger(__name__)


def internal_target(settings: Settings) -> str:
    """Where the operator routes of the internal services (ledger, executor, reconciliation)
    go: the server's PAYCORE_INTERNAL_GRPC_ADDR, which alone serves them when set; "" (the
    gRPC target, as every other route) without one or without operator routes."""
    return settings.internal_grpc_addr if settings.edge_operator_routes else ""


async def run_edge(settings: Settings, grpc_target: str) -> None:
    """Serves until SIGTERM or SIGINT: operator routes, HTTPS and TLS to gRPC as `settings`
    say."""
    http_addr = settings.http_addr
    tls = http_server_tls(settings)
    edge = await start_edge(
        grpc_target,
        http_addr,
        settings.edge_operator_routes,
        tls=tls,
        upstream_tls=grpc_caller_tls(settings),
        pages_token=settings.internal_token or settings.admin_token,
        trusted_proxies=settings.edge_trusted_proxies,
        internal_target=internal_target(settings),
    )
    scheme = "https" if tls else "http"
    stop = stop_on_signal()
    logger.info(
        "REST edge on %s://%s (port %d) -> gRPC %s", scheme, http_addr, edge.port, grpc_target
    )
    try:
        await stop.wait()
    finally:
        await edge.close()
    logger.info("edge stopped")
