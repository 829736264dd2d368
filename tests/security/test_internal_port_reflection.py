"""With PAYCORE_INTERNAL_GRPC_ADDR the internal services live on a port of their own (issue 23,
item 7). Reflection there must describe that port: it listed every merchant service too
(AccountService, PaymentService, ...), which the port does not serve, so `grpcurl ... list`
named services whose every call answered UNIMPLEMENTED "Method not found!". Health likewise
knows on each port only the services it serves: it reported the internal services NOT_SERVING
on the public port (and the merchant services on the internal one), as if down, where a
service a port does not serve is unknown there (NOT_FOUND, `paycore health` SERVICE_UNKNOWN)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paycore.app import build_platform, start_server
from paycore.config import Settings
from paycore.runtime.policy import internal_services
from prometheus_client import CollectorRegistry

from tests.helpers import health_status, reflected_services

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


@pytest_asyncio.fixture
async def both_ports(migrated: Settings) -> AsyncIterator[tuple[str, str, frozenset[str]]]:
    settings = migrated.with_overrides(internal_grpc_addr="127.0.0.1:0")
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    assert server.internal is not None
    try:
        yield (
            f"127.0.0.1:{server.port}",
            f"127.0.0.1:{server.internal.port}",
            internal_services(platform.policies),
        )
    finally:
        await server.stop(1)
        await platform.close()


async def _health_list(target: str) -> dict[str, int]:
    async with aio.insecure_channel(target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        answer = await stub.List(health_pb2.HealthListRequest(), timeout=2)  # type: ignore[attr-defined]
    return {name: int(status.status) for name, status in answer.statuses.items()}


async def test_health_on_each_port_knows_only_what_it_serves(
    both_ports: tuple[str, str, frozenset[str]],
) -> None:
    public, internal_target, internal = both_ports
    merchant_service = "paycore.v1.AccountService"
    serving = health_pb2.HealthCheckResponse.SERVING
    for target, served, elsewhere in (
        (public, merchant_service, sorted(internal)),
        (internal_target, sorted(internal)[0], [merchant_service]),
    ):
        assert await health_status(target, served) == serving
        for name in elsewhere:
            with pytest.raises(aio.AioRpcError) as unknown:
                await health_status(target, name)
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND, (target, name)
        listed = await _health_list(target)
        assert served in listed
        assert not set(elsewhere) & set(listed)
