"""`paycore edge`: the REST edge alone, in front of a gRPC server (ours or a load balancer)."""

from __future__ import annotations

import asyncio
import logging
import signal

from paycore.edge.app import start_edge

logger = logging.getLogger(__name__)


async def run_edge(grpc_target: str, http_addr: str, operator_routes: bool = False) -> None:
    """Serves until SIGTERM or SIGINT."""
    edge = await start_edge(grpc_target, http_addr, operator_routes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logger.info("REST edge on http://%s (port %d) -> gRPC %s", http_addr, edge.port, grpc_target)
    try:
        await stop.wait()
    finally:
        await edge.close()
    logger.info("edge stopped")
