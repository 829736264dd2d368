"""The gRPC server: services, health per service, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from google.protobuf.descriptor import FileDescriptor
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from paycore import contracts
from paycore.background import spawn
from paycore.config import Settings
from paycore.runtime.collector import tune_for_serving
from paycore.runtime.process import stop_on_signal
from paycore.runtime.reflection import enable_reflection
from paycore.runtime.tls import ServerTls

logger = logging.getLogger(__name__)
MESSAGE_LENGTH_MAX = 4 * 1024 * 1024
"""The largest message any method takes (internal ones: ledger batches); each method class has
its own smaller limit (paycore.runtime.interceptors.size)."""
CONCURRENT_STREAMS_MAX = 1000
"""Per connection. grpc's clients do not all queue calls past the server's limit (a burst
before the SETTINGS frame arrives is refused with RST_STREAM), so it is well above the few
hundred calls a client bursts (tests/ledger's hot accounts)."""
CONNECTION_AGE_MAX_MS = 300_000
"""How long a client's connection lasts before the server ends it (GOAWAY; its calls in flight
finish, new ones go over a new connection): a connection stays with the pod kube-proxy gave it
(and the `--workers` process SO_REUSEPORT gave it), so without an end the edges' connections
never reached the serve pods the autoscaler added."""


class Health(health.aio.HealthServicer):
    """grpcio-health-checking's servicer, with grpc.health.v1's List, which it leaves
    UNIMPLEMENTED although reflection shows it beside Check and Watch: every service's status,
    as Check reports each."""

    def __init__(self) -> None:
        super().__init__()
        self._statuses: dict[str, int] = {"": health_pb2.HealthCheckResponse.SERVING}
        self._shutting_down = False

    async def set(self, service: str, status: int) -> None:
        if not self._shutting_down:
            self._statuses[service] = status
        await super().set(service, status)

    async def enter_graceful_shutdown(self) -> None:
        self._shutting_down = True
        for service in self._statuses:
            self._statuses[service] = health_pb2.HealthCheckResponse.NOT_SERVING
        await super().enter_graceful_shutdown()

    async def List(self, request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        # HealthListRequest and HealthListResponse are not in grpc_health's type stubs yet.
        return health_pb2.HealthListResponse(  # type: ignore[attr-defined]
            statuses={
                service: health_pb2.HealthCheckResponse(status=status)
                for service, status in self._statuses.items()
            }
        )


@dataclass
class GrpcServer:
    server: aio.Server
    health: Health
    port: int
    serving: list[str]
    watchers: list[asyncio.Task[None]] = field(default_factory=list)
    internal: GrpcServer | None = None
    """The internal services' own server (PAYCORE_INTERNAL_GRPC_ADDR), when they have one."""

    async def stop(self, grace_seconds: float) -> None:
        """Refuses new calls, lets in-flight ones finish within the grace period."""
        for watcher in self.watchers:
            watcher.cancel()
        if self.watchers:  # a health check in flight gives its connection back first
            await asyncio.wait(self.watchers)  # never raises what a watcher raised
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_seconds)
        if self.internal is not None:
            await self.internal.stop(grace_seconds)

    def watch(self, reachable: Callable[[], Awaitable[bool]], interval_seconds: float) -> None:
        """Health follows `reachable` (does any shard's database answer?): while it is False the
        server and every service report NOT_SERVING, so load balancers and clients that
        check health route elsewhere instead of collecting UNAVAILABLE answers."""
        self.watchers.append(spawn(self._follow(reachable, interval_seconds), name="health"))

    async def _follow(
        self, reachable: Callable[[], Awaitable[bool]], interval_seconds: float
    ) -> None:
        serving_now = True
        while True:
            try:
                up = await reachable()
            except Exception:
                logger.exception("health check failed")
                up = False
            if up != serving_now:
                serving_now = up
                logger.warning("dependencies %s", "reachable again" if up else "unreachable")
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if up
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                for name in ["", *self.serving]:
                    await self.health.set(name, status)
            await asyncio.sleep(interval_seconds)


Register = Callable[[aio.Server], list[str]]
"""Adds the implemented servicers to a server; returns their full service names."""


async def start_grpc_server(
    address: str,
    interceptors: Sequence[aio.ServerInterceptor],
    register: Register,
    hidden: frozenset[str] = frozenset(),
    tls: ServerTls | None = None,
    share_port: bool = False,
    connection_age_max_ms: int = CONNECTION_AGE_MAX_MS,
) -> GrpcServer:
    """The servicers come from the composition root (`paycore.app.start_server`); services
    `register` leaves out answer UNIMPLEMENTED and report NOT_SERVING. Reflection lists and
    resolves every service but the `hidden` ones (internal services on the public port, issue
    23 item 7); health does not know a hidden service this port does not serve (the other
    port serves it), as reflection does not. With `tls`, the port speaks TLS only (and
    requires client certificates if it names a client CA). `share_port`: SO_REUSEPORT, for
    `serve --workers N`'s processes only; else a port another process holds fails the start
    (gRPC sets SO_REUSEPORT by default on Linux, and a second deployment on the host would
    silently take half of the calls). `connection_age_max_ms`: CONNECTION_AGE_MAX_MS's."""
    server = aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.so_reuseport", int(share_port)),
            ("grpc.max_receive_message_length", MESSAGE_LENGTH_MAX),
            ("grpc.max_send_message_length", MESSAGE_LENGTH_MAX),
            # Per connection: one client cannot hold the server's memory with thousands of
            # calls in flight (each may carry up to its method's message size).
            ("grpc.max_concurrent_streams", CONCURRENT_STREAMS_MAX),
            ("grpc.max_connection_age_ms", connection_age_max_ms),
            # paycore.client pings idle connections every 30 s to find dead ones; without
            # these the server would answer pings without calls with GOAWAY (too_many_pings).
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ],
    )
    handlers = cast(aio.Server, _GenericHandlersOnly(server))
    serving = register(handlers)
    health_servicer = Health()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, handlers)
    for name in contracts.service_names():
        if name in hidden and name not in serving:
            continue  # served on another port (PAYCORE_INTERNAL_GRPC_ADDR): unknown here
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if name in serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await health_servicer.set(name, status)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflected = [name for name in contracts.service_names() if name not in hidden]
    enable_reflection(
        server,
        [*reflected, health.SERVICE_NAME],
        [*contracts.proto_files(), cast(FileDescriptor, health_pb2.DESCRIPTOR)],
        hidden,
    )
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, tls.grpc_credentials())
    await server.start()
    return GrpcServer(server, health_servicer, port, serving)


class _GenericHandlersOnly:
    """`server` as the generated `add_*_to_server` functions see it: each service is served by
    its generic handler alone, its methods not also registered one by one. grpc.aio (1.85)
    keeps a pending task per registered method and, for every call, waits on all of them and
    then on the one that answered: with paycore's 200 methods that cost about 60 us of CPU a
    call (a third of a ledger call's Python time), and it grew with every method added. The
    generic handler finds a method in its service's dict instead (docs/benchmarks.md, "gRPC's
    registered methods")."""

    def __init__(self, server: aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: Any) -> None:
        """Served by the service's generic handler, which the same function adds."""


async def serve_until_signalled(
    settings: Settings, start: Awaitable[GrpcServer], close: Callable[[], Awaitable[None]]
) -> None:
    """Runs until SIGTERM or SIGINT, then shuts down gracefully."""
    grpc_server = await start
    tune_for_serving()
    stop = stop_on_signal()
    logger.info("gRPC listening on %s (port %d)", settings.grpc_addr, grpc_server.port)
    try:
        await stop.wait()
        logger.info("shutting down: in-flight calls get %.0fs", settings.shutdown_grace_seconds)
        await grpc_server.stop(settings.shutdown_grace_seconds)
    finally:
        await close()
    logger.info("stopped")
