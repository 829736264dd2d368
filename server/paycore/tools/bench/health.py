"""`paycore bench health`: grpc.health.v1 Check, the bare server's floor. It has no policy, so
of the interceptors only metrics runs: no authentication, rate limit or storage."""

from __future__ import annotations

from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore.tools.bench.scenario import Call, GhzCall, Scenario, Session


async def prepare(session: Session) -> Call:
    stub: Any = health_pb2_grpc.HealthStub(session.client.channel)
    request = health_pb2.HealthCheckRequest(service="")

    async def call(sequence: int) -> object:
        return await stub.Check(request, timeout=session.timeout_seconds)

    return call


async def ghz_call(session: Session) -> GhzCall:
    return GhzCall(call="grpc.health.v1.Health.Check", data={"service": ""})


SCENARIO = Scenario(
    name="health",
    summary="grpc.health.v1.Health.Check: the bare server floor",
    method="/grpc.health.v1.Health/Check",
    needs_merchant=False,
    prepare=prepare,
    ghz=ghz_call,
)
