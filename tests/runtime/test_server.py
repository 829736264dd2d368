"""The server around the services: health per service, reflection, UNIMPLEMENTED for what is
not built yet, request ids, metrics."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore import contracts
from paycore.app import Platform, build_platform, start_server
from paycore.client import connect
from paycore.config import Settings
from paycore.runtime.interceptors.base import (
    Behavior,
    Context,
    Handler,
    InterceptorChain,
    PolicyInterceptor,
    WrappedHandlers,
)
from paycore.runtime.policy import MethodPolicy, internal_services
from paycore.runtime.server import start_grpc_server
from paycore.v1 import account_pb2
from prometheus_client import CollectorRegistry, generate_latest

from tests.helpers import MerchantFixture, health_status, reflected_services, rich_error


async def test_health_reports_each_service(target: str) -> None:
    statuses = {
        name: await health_status(target, name) for name in [*contracts.service_names(), ""]
    }
    serving = health_pb2.HealthCheckResponse.SERVING
    assert statuses["paycore.v1.AccountService"] == serving
    assert statuses[""] == serving
    assert statuses["paycore.v1.PaymentService"] == serving
    assert statuses["paycore.v1.SubscriptionService"] == serving
    assert statuses["paycore.v1.PayoutService"] == serving
    # Every service is built now (pay-out and reconciliation were the last): all SERVING.
    assert statuses["paycore.v1.ReconciliationService"] == serving
    assert set(statuses.values()) == {serving}
    assert len(statuses) >= 12


async def test_health_lists_every_service_as_check_reports_it(target: str) -> None:
    """grpc.health.v1's List (reflection shows it with Check and Watch): the same statuses,
    not UNIMPLEMENTED."""
    async with aio.insecure_channel(target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthListRequest()  # type: ignore[attr-defined]
        listed = await stub.List(request, timeout=2)
    statuses = {name: answer.status for name, answer in listed.statuses.items()}
    assert statuses == {
        name: await health_status(target, name) for name in [*contracts.service_names(), ""]
    }


async def test_reflection_lists_every_merchant_service(target: str) -> None:
    names = await reflected_services(target)
    internal = internal_services(contracts.method_policies())
    assert internal == {
        "paycore.v1.LedgerService",
        "paycore.v1.ExecutorService",
        "paycore.v1.ReconciliationService",
    }
    assert set(contracts.service_names()) - internal <= names
    assert not internal & names  # issue 23, item 7: see tests/runtime/test_exposure.py
    assert "grpc.health.v1.Health" in names


async def test_every_call_gets_a_request_id(target: str, merchant: MerchantFixture) -> None:
    call = merchant.client.accounts.GetMerchant(
        account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    )
    await call
    trailing = dict(await call.trailing_metadata() or ())
    assert str(trailing["x-request-id"]).startswith("req_")
    async with connect(target, "sk_test_wrong") as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.accounts.GetMerchant(
                account_pb2.GetMerchantRequest(id=merchant.merchant.id),
                metadata=(("x-request-id", "client-chosen-42"),),
            )
    assert rich_error(raised.value).trailing["x-request-id"] == "client-chosen-42"


async def test_metrics_count_calls_by_method_and_code(
    platform: Platform, merchant: MerchantFixture
) -> None:
    registry = platform.metrics.registry
    labels = {"grpc_type": "unary", "grpc_service": "paycore.v1.AccountService"}
    labels["grpc_method"] = "GetMerchant"

    def sample(name: str, **extra: str) -> float:
        return registry.get_sample_value(name, {**labels, **extra}) or 0.0

    before = {
        "started": sample("grpc_server_started_total"),
        "ok": sample("grpc_server_handled_total", grpc_code="OK"),
        "not_found": sample("grpc_server_handled_total", grpc_code="NOT_FOUND"),
        "timed": sample("grpc_server_handling_seconds_count"),
    }
    await merchant.client.accounts.GetMerchant(
        account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    )
    with pytest.raises(aio.AioRpcError):
        await merchant.client.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id="acct_" + "0" * 22)
        )
    assert sample("grpc_server_started_total") == before["started"] + 2
    assert sample("grpc_server_handled_total", grpc_code="OK") == before["ok"] + 1
    assert sample("grpc_server_handled_total", grpc_code="NOT_FOUND") == before["not_found"] + 1
    assert sample("grpc_server_handling_seconds_count") == before["timed"] + 2
    assert b"grpc_server_handling_seconds_bucket" in generate_latest(registry)


async def test_metrics_count_streaming_calls_under_their_own_type(
    platform: Platform, target: str
) -> None:
    """Reflection (ghz and grpcurl ask it before every run) is a bidi stream: it was shown as a
    `grpc_type="unary"` series that never counted, however often it was asked."""
    registry = platform.metrics.registry
    reflection = {
        "grpc_service": "grpc.reflection.v1alpha.ServerReflection",
        "grpc_method": "ServerReflectionInfo",
    }

    def sample(name: str, grpc_type: str, **extra: str) -> float:
        labels = {**reflection, "grpc_type": grpc_type, **extra}
        return registry.get_sample_value(name, labels) or 0.0

    before = {
        "started": sample("grpc_server_started_total", "bidi_stream"),
        "ok": sample("grpc_server_handled_total", "bidi_stream", grpc_code="OK"),
        "timed": sample("grpc_server_handling_seconds_count", "bidi_stream"),
    }
    await reflected_services(target)
    await reflected_services(target)
    assert sample("grpc_server_started_total", "bidi_stream") == before["started"] + 2
    assert sample("grpc_server_handled_total", "bidi_stream", grpc_code="OK") == before["ok"] + 2
    assert sample("grpc_server_handling_seconds_count", "bidi_stream") == before["timed"] + 2
    assert (
        registry.get_sample_value("grpc_server_started_total", {**reflection, "grpc_type": "unary"})
        is None
    )


async def test_a_stream_the_client_cancels_is_counted_cancelled(
    platform: Platform, target: str
) -> None:
    """A health Watch ends when its client goes: CANCELLED, never UNKNOWN (which the
    PaycoreInternalErrors alert pages on)."""
    registry = platform.metrics.registry
    labels = {
        "grpc_type": "server_stream",
        "grpc_service": "grpc.health.v1.Health",
        "grpc_method": "Watch",
    }

    def handled(code: str) -> float:
        return (
            registry.get_sample_value("grpc_server_handled_total", {**labels, "grpc_code": code})
            or 0.0
        )

    before = handled("CANCELLED"), handled("UNKNOWN")
    async with aio.insecure_channel(target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        call = stub.Watch(health_pb2.HealthCheckRequest(service=""))
        first = await call.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        call.cancel()
    for _ in range(100):
        if handled("CANCELLED") > before[0]:
            break
        await asyncio.sleep(0.02)
    assert (handled("CANCELLED"), handled("UNKNOWN")) == (before[0] + 1, before[1])


def test_a_wrapped_handler_is_made_once_per_method_and_never_for_unknown_methods() -> None:
    async def behavior(request: object, context: object) -> None:
        return None

    handler: Handler = grpc.unary_unary_rpc_method_handler(behavior)
    other: Handler = grpc.unary_unary_rpc_method_handler(behavior)
    made: list[str] = []

    def wrap(name: str) -> Handler:
        made.append(name)
        return grpc.unary_unary_rpc_method_handler(behavior)

    wrapped = WrappedHandlers()
    first = wrapped.get("/s/M", handler, lambda: wrap("first"))
    assert wrapped.get("/s/M", handler, lambda: wrap("again")) is first
    assert wrapped.get("/s/Unknown", None, lambda: wrap("unknown")) is None
    # Another handler for the same method (never the case in one server): wrapped anew.
    assert wrapped.get("/s/M", other, lambda: wrap("other")) is not first
    assert made == ["first", "other"]


class _Recording(PolicyInterceptor):
    def __init__(self, name: str, policies: dict[str, MethodPolicy], seen: list[str]) -> None:
        super().__init__(policies)
        self._name, self._seen = name, seen

    async def around(
        self, behavior: Behavior, request: object, context: Context, method: str, policy: object
    ) -> object:
        self._seen.append(f"{self._name} {method}")
        answer = await behavior(request, context)
        self._seen.append(f"{self._name} done")
        return answer


async def test_a_chain_runs_its_interceptors_outermost_first_wrapping_once_per_method() -> None:
    seen: list[str] = []
    policy = next(iter(contracts.method_policies().values()))
    policies = {"/s/M": policy}

    async def behavior(request: object, context: object) -> str:
        seen.append(f"behavior {request}")
        return "answer"

    handlers: dict[str, Handler] = {
        "/s/M": grpc.unary_unary_rpc_method_handler(behavior),
        "/s/Health": grpc.unary_unary_rpc_method_handler(behavior),
    }

    async def continuation(details: grpc.HandlerCallDetails) -> Handler | None:
        return handlers.get(details.method)

    chain = InterceptorChain(
        [_Recording("outer", policies, seen), _Recording("inner", policies, seen)]
    )

    def details(method: str) -> grpc.HandlerCallDetails:
        return cast(grpc.HandlerCallDetails, SimpleNamespace(method=method))

    wrapped = await chain.intercept_service(continuation, details("/s/M"))
    assert wrapped is not None and wrapped is not handlers["/s/M"]
    assert await chain.intercept_service(continuation, details("/s/M")) is wrapped
    unary: Behavior = wrapped.unary_unary  # type: ignore[assignment]  # stubs: sync only
    assert await unary("request", cast(Context, None)) == "answer"
    assert seen == ["outer /s/M", "inner /s/M", "behavior request", "inner done", "outer done"]
    # No policy (health, reflection): the handler as it is; an unknown method: none.
    health = await chain.intercept_service(continuation, details("/s/Health"))
    assert health is handlers["/s/Health"]
    assert await chain.intercept_service(continuation, details("/s/Unknown")) is None


async def test_a_port_another_server_holds_fails_the_start_unless_both_share_it() -> None:
    # gRPC sets SO_REUSEPORT by default on Linux: a second deployment on the host would have
    # taken half of the calls of the first without a word. Only `serve --workers N`'s
    # processes share the port.
    def register(server: aio.Server) -> list[str]:
        return []

    alone = await start_grpc_server("127.0.0.1:0", [], register)
    try:
        with pytest.raises(RuntimeError):
            await start_grpc_server(f"127.0.0.1:{alone.port}", [], register)
    finally:
        await alone.stop(0)

    first = await start_grpc_server("127.0.0.1:0", [], register, share_port=True)
    second = await start_grpc_server(f"127.0.0.1:{first.port}", [], register, share_port=True)
    try:
        assert second.port == first.port
    finally:
        await second.stop(0)
        await first.stop(0)


async def test_a_taken_internal_port_stops_the_public_server_already_started(
    migrated: Settings,
) -> None:
    # With PAYCORE_INTERNAL_GRPC_ADDR, the public server starts first: a taken internal port
    # failed the start but left it listening, serving merchants from a process that had failed.
    def register(server: aio.Server) -> list[str]:
        return []

    with socket.socket() as probe:  # a port free now, for the public server
        probe.bind(("127.0.0.1", 0))
        public = f"127.0.0.1:{probe.getsockname()[1]}"
    holder = await start_grpc_server("127.0.0.1:0", [], register)
    platform = build_platform(
        migrated.with_overrides(internal_grpc_addr=f"127.0.0.1:{holder.port}"),
        CollectorRegistry(),
    )
    try:
        with pytest.raises(RuntimeError):
            await start_server(platform, public)
        # The public port is free again: a server that does not share ports starts there.
        again = await start_grpc_server(public, [], register)
        await again.stop(0)
    finally:
        await holder.stop(0)
        await platform.close()


async def test_a_connection_ends_at_its_age_so_new_servers_get_calls() -> None:
    # A connection stays with the serve pod (and process) kube-proxy gave it at connect time:
    # without an age, the edges' connections never reached the pods the autoscaler added.
    # The server ends each after its age (GOAWAY; calls in flight finish), the client
    # reconnects, to whichever pod the Service picks then.
    def register(server: aio.Server) -> list[str]:
        return []

    server = await start_grpc_server("127.0.0.1:0", [], register, connection_age_max_ms=500)
    try:
        async with aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health: Any = health_pb2_grpc.HealthStub(channel)
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert channel.get_state() == grpc.ChannelConnectivity.READY
            await asyncio.wait_for(
                channel.wait_for_state_change(grpc.ChannelConnectivity.READY), timeout=5
            )
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)  # reconnected
    finally:
        await server.stop(0)
