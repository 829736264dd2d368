"""The edge spreads its calls over several connections to serve: over one, every REST call of
an edge reached one process of one serve pod (the connection's), so `serve --workers 2` left a
process idle and the serve HorizontalPodAutoscaler's new pods got no edge traffic (measured: a
REST load through one edge used one of serve's two processes)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from aiohttp import ClientSession
from grpc import aio
from paycore.edge import start_edge
from paycore.edge.app import _in_turn
from paycore.ids import Prefix, new_id
from paycore.v1 import account_pb2

from tests.helpers import free_port

GET_MERCHANT = "/paycore.v1.AccountService/GetMerchant"


async def _merchant_server(get_merchant: Any) -> tuple[aio.Server, int]:
    """A started gRPC server answering AccountService.GetMerchant with `get_merchant`, and
    its port."""
    handler = grpc.method_handlers_generic_handler(
        "paycore.v1.AccountService",
        {
            "GetMerchant": grpc.unary_unary_rpc_method_handler(
                get_merchant,
                request_deserializer=account_pb2.GetMerchantRequest.FromString,
                response_serializer=account_pb2.Merchant.SerializeToString,
            )
        },
    )
    server = aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def test_calls_reach_the_server_over_several_connections() -> None:
    peers: list[str] = []

    async def get_merchant(request: account_pb2.GetMerchantRequest, context: Any) -> Any:
        peers.append(context.peer())
        return account_pb2.Merchant(id=request.id, name="peer counter")

    server, port = await _merchant_server(get_merchant)
    edge = await start_edge(f"127.0.0.1:{port}", "127.0.0.1:0")
    merchant = new_id(Prefix.ACCOUNT, 0)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:

            async def call() -> None:
                async with http.get(
                    f"/v1/merchants/{merchant}", headers={"Authorization": "Bearer sk_test_x"}
                ) as response:
                    assert response.status == 200, await response.text()

            await asyncio.gather(*(call() for _ in range(16)))
    finally:
        await edge.close()
        await server.stop(None)
    assert len(peers) == 16
    assert len(set(peers)) > 1, set(peers)


async def test_a_connection_failing_to_connect_is_passed_over_while_another_is_up() -> None:
    """A connection whose serve pod or process went away fails fast (UNAVAILABLE) until it has
    reconnected elsewhere (up to RECONNECT_BACKOFF_MAX_MS): the edge's calls take the next
    connection meanwhile, so no REST call fails for a pod that shut down."""

    async def get_merchant(request: account_pb2.GetMerchantRequest, context: Any) -> Any:
        return account_pb2.Merchant(id=request.id, name="live")

    server, port = await _merchant_server(get_merchant)
    gone = aio.insecure_channel(f"127.0.0.1:{free_port()}")
    live = aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        for _ in range(50):  # its first attempt to connect fails within milliseconds
            if gone.get_state(try_to_connect=True) == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                break
            await asyncio.sleep(0.1)
        serving: list[tuple[aio.Channel, Any]] = [
            (
                one,
                one.unary_unary(
                    GET_MERCHANT, response_deserializer=account_pb2.Merchant.FromString
                ),
            )
            for one in (gone, live)
        ]
        call = _in_turn(serving)
        request = account_pb2.GetMerchantRequest(id=new_id(Prefix.ACCOUNT, 0)).SerializeToString()
        answers = [await call(request, timeout=5) for _ in range(8)]
        assert [answer.name for answer in answers] == ["live"] * 8
    finally:
        await gone.close()
        await live.close()
        await server.stop(None)
