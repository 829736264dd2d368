"""With PAYCORE_INTERNAL_GRPC_ADDR the internal services live on a port of their own (issue 23,
item 7). Reflection there must describe that port: it listed every merchant service too
(AccountService, PaymentService, ...), which the port does not serve, so `grpcurl ... list`
named services whose every call answered UNIMPLEMENTED "Method not found!"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paycore.app import build_platform, start_server
from paycore.config import Settings
from paycore.runtime.policy import internal_services
from prometheus_client import CollectorRegistry

from tests.helpers import reflected_services

PORT_SERVICES = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest_asyncio.fixture
async def internal_port(migrated: Settings) -> AsyncIterator[tuple[str, frozenset[str]]]:
    settings = migrated.with_overrides(internal_grpc_addr="127.0.0.1:0")
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    assert server.internal is not None
    try:
        yield f"127.0.0.1:{server.internal.port}", internal_services(platform.policies)
    finally:
        await server.stop(1)
        await platform.close()


async def test_the_internal_port_reflects_only_what_it_serves(
    internal_port: tuple[str, frozenset[str]],
) -> None:
    target, internal = internal_port
    assert await reflected_services(target) == internal | PORT_SERVICES
    async with aio.insecure_channel(target) as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]
        for symbol, found in (
            ("paycore.v1.AccountService.GetMerchant", False),
            ("paycore.v1.LedgerService.CheckIntegrity", True),
        ):
            request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
            (answer,) = [answer async for answer in stub.ServerReflectionInfo(iter([request]))]
            assert answer.HasField("file_descriptor_response") is found, symbol
