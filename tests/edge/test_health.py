"""The edge's /healthz is 200 only while the serve behind it answers its health check SERVING
over one of the edge's connections at least (paycore.edge.app.Edge.health)."""

from __future__ import annotations

import json

from aiohttp import ClientSession, web
from aiohttp.test_utils import make_mocked_request
from grpc import aio
from grpc_health.v1 import health_pb2
from paycore.edge import Edge
from paycore.runtime.server import GrpcServer

from tests.helpers import free_port

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_healthz_is_503_while_serve_reports_not_serving(
    grpc_server: GrpcServer, http: ClientSession
) -> None:
    """serve reports NOT_SERVING while no shard's database answers and while it drains: its
    port still accepts the edge's connections, which are READY all along."""
    await grpc_server.health.set("", NOT_SERVING)
    try:
        async with http.get("/healthz") as response:
            assert response.status == 503
            assert (await response.json())["status"] == "unavailable"
    finally:
        await grpc_server.health.set("", SERVING)
    async with http.get("/healthz") as response:
        assert response.status == 200


async def test_healthz_is_ok_while_one_connection_reaches_serve(target: str) -> None:
    """A connection to a serve pod that went away reconnects on its own (to another pod): the
    edge still answers over the others, and is ready."""
    gone = aio.insecure_channel(f"127.0.0.1:{free_port()}")
    live = aio.insecure_channel(target)
    request = make_mocked_request("GET", "/healthz")
    try:
        for channels in ([gone, live], [live, gone]):
            first, *spread = channels
            answer = await Edge(first, [], spread=spread).health(request)
            assert isinstance(answer, web.Response)
            assert answer.status == 200
            assert json.loads(answer.text or "") == {"status": "ok"}
        answer = await Edge(gone, [], spread=[gone]).health(request)
        assert answer.status == 503
    finally:
        await gone.close()
        await live.close()
