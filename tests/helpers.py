"""What tests share besides fixtures: reading paycore's rich errors off a failed call."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paycore import contracts
from paycore.app import build_platform, start_server
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.psp.client import PspClient
from paycore.runtime.context import CallContext, Caller, CallerKind, begin_call
from paycore.runtime.process import free_port as any_free_port
from paycore.tools.bench.scratch import admin_sql, with_database
from paycore.tools.psp.simulator import SimulatorServer
from paycore.tools.psp.store import DATABASE_FILE
from paycore.v1 import account_pb2, event_pb2
from prometheus_client import CollectorRegistry


@dataclass(frozen=True)
class RichError:
    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay_ms: int | None = None
    trailing: dict[str, str] = field(default_factory=dict)

    @property
    def param(self) -> str | None:
        return self.metadata.get("param")


def rich_error(error: aio.AioRpcError) -> RichError:
    trailing = {
        key: value if isinstance(value, str) else value.hex()
        for key, value in (error.trailing_metadata() or ())
    }
    reason, metadata, retry_delay_ms = "", {}, None
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay_ms = retry.retry_delay.ToMilliseconds()
    return RichError(
        code=error.code(),
        message=error.details() or "",
        reason=reason,
        metadata=metadata,
        retry_delay_ms=retry_delay_ms,
        trailing=trailing,
    )


@dataclass(frozen=True)
class MerchantFixture:
    merchant: account_pb2.Merchant
    client: Paycore


async def create_merchant(
    admin: Paycore, target: str, name: str = "Acme", *, livemode: bool = False
) -> MerchantFixture:
    merchant = await admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name=name,
            email="ops@acme.test",
            country="US",
            default_currency="usd",
            livemode=livemode,
        )
    )
    return MerchantFixture(merchant, connect(target, merchant.secret_key))


def merchant_call(merchant_id: str, request_id: str = "req-test") -> CallContext:
    """The context of a call of the merchant's secret key (what the interceptors set)."""
    policy = contracts.method_policies()["/paycore.v1.PaymentService/ConfirmPaymentIntent"]
    caller = Caller(CallerKind.SECRET_KEY, merchant_id, "key")
    return CallContext("ConfirmPaymentIntent", request_id, policy, caller)


async def as_a_call(
    call: CallContext, work: Callable[[], Awaitable[object]]
) -> weakref.ref[CallContext]:
    """Runs `work` as grpc.aio runs a call (a task of its own, `call` its context); once it
    ended, a weak reference to `call`: what the call started must not keep it (its caller,
    metadata and held connection) alive."""

    async def run() -> None:
        begin_call(call)
        await work()

    await asyncio.create_task(run())
    await asyncio.sleep(0)  # the loop lets go of the ended task (its waiter's wake-up held it)
    return weakref.ref(call)


async def health_status(target: str, service: str) -> int:
    """The health of `service` ("" for the server) as grpc.health.v1 reports it."""
    async with aio.insecure_channel(target) as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return int(response.status)


async def reflected_services(target: str) -> set[str]:
    async with aio.insecure_channel(target) as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names: set[str] = set()
        async for response in stub.ServerReflectionInfo(iter([request])):
            names |= {service.name for service in response.list_services_response.service}
    return names


def free_port() -> int:
    """A port free now, for a server that must be named before it starts and whose start
    waits for nothing: another process can take it before that server binds it. Where the
    server's start can be waited for, hold `reserved_port()` across it instead."""
    return any_free_port()


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A port for a server that must be named before it starts (its URL is in settings made
    before it), held until the block ends: leave it once the server listens.

    Held bound with SO_REUSEADDR and never listened on, the port is one the kernel gives no
    one else (not to a bind to port 0, nor as the local port of a connection), while the server
    named, which binds with SO_REUSEADDR (asyncio, aiohttp, grpc, PostgreSQL and http.server all
    do), can still take it. Found free and let go (`free_port`), it could be taken meanwhile."""
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def http_get(url: str) -> str:
    """Blocking; call it through asyncio.to_thread from async tests."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """A second gRPC server on its own platform (other limits, say); yields its target."""
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(1)
        await platform.close()


@asynccontextmanager
async def fresh_databases(urls: tuple[str, ...]) -> AsyncIterator[tuple[str, ...]]:
    """Empty databases beside `urls` (one per shard), dropped afterwards: for a test whose
    processes sweep every merchant (the worker) or that restores a backup."""
    names = [f"paycore_fresh_{secrets.token_hex(4)}_{index}" for index in range(len(urls))]
    for url, name in zip(urls, names, strict=True):
        await admin_sql(url, f'CREATE DATABASE "{name}"')
    try:
        yield tuple(with_database(url, name) for url, name in zip(urls, names, strict=True))
    finally:
        for url, name in zip(urls, names, strict=True):
            await admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The PSP simulator (tests/conftest.py's `psp` fixture runs one in-process per test).


@dataclass
class PspSimulator:
    server: SimulatorServer
    data_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    async def set_faults(
        self,
        *,
        latency_ms: int | None = None,
        error_rate: float | None = None,
        down: bool | None = None,
        settlement: list[dict[str, object]] | None = None,
        bank_payouts: list[dict[str, object]] | None = None,
        lose_answers: int | None = None,
    ) -> dict[str, Any]:
        """Through its control endpoint, as another process would; None leaves one as it is.
        `settlement`, `bank_payouts`: alterations of the daily reports
        (paycore.tools.psp.report_faults)."""
        changes = {
            name: value
            for name, value in (
                ("latency_ms", latency_ms),
                ("error_rate", error_rate),
                ("down", down),
                ("settlement", settlement),
                ("bank_payouts", bank_payouts),
                ("lose_answers", lose_answers),
            )
            if value is not None
        }
        return await self.control("faults", changes)

    async def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /_control/<path> with the control token (faults, a dispute's outcome): the
        answer, which must be 200."""
        status, answer = await self.post_control(path, body)
        assert status == 200, answer
        return answer

    async def post_faults(self, body: object) -> tuple[int, dict[str, Any]]:
        """POST /_control/faults with `body` as it is: the status and the JSON answer."""
        return await self.post_control("faults", body)

    async def post_control(self, path: str, body: object) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/_control/{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.server.control_token}"},
            ) as response,
        ):
            answer: dict[str, Any] = await response.json()
            return response.status, answer

    def client(self, timeout_seconds: float = 5.0) -> PspClient:
        return PspClient(self.url, timeout_seconds=timeout_seconds)

    async def authenticate(self, url: str, outcome: str) -> tuple[int, dict[str, Any]]:
        """The buyer's answer ("complete" | "fail") on the authentication page at `url` (a
        next_action's), through its JSON twin POST /v1/authentications/{id}."""
        authentication_id = url.rstrip("/").rsplit("/", 1)[-1]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/v1/authentications/{authentication_id}", json={"outcome": outcome}
            ) as response,
        ):
            answer: dict[str, Any] = await response.json()
            return response.status, answer

    def count(self, table: str) -> int:
        """Rows in one of its tables (charges, refunds, operations), read from the file."""
        with contextlib.closing(sqlite3.connect(self.data_dir / DATABASE_FILE)) as connection:
            return int(connection.execute(f"select count(*) from {table}").fetchone()[0])

    def charges_for(self, reference: str) -> list[str]:
        """The statuses of the charges it made with this reference (what paycore sends: the
        payment intent's or order's id), oldest first."""
        with contextlib.closing(sqlite3.connect(self.data_dir / DATABASE_FILE)) as connection:
            rows = connection.execute(
                "select status from charges where reference = ? order by created_ms", (reference,)
            )
            return [str(row[0]) for row in rows.fetchall()]


def server_environment(
    settings: Settings, grpc_port: int, metrics_port: int, **extra: str
) -> dict[str, str]:
    """The environment of a `paycore` process serving `settings` (the tests' databases)."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")},
        "PAYCORE_DATABASE_URLS": ",".join(settings.database_urls),
        "PAYCORE_REDIS_URL": settings.redis_url,
        "PAYCORE_REDIS_PREFIX": settings.redis_key_prefix,
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
        "PAYCORE_KEY_HASH_SECRET": settings.key_hash_secret,
        "PAYCORE_VAULT_KEY": settings.vault_key,
        "PAYCORE_CARD_FINGERPRINT_KEY": settings.card_fingerprint_key,
        "PAYCORE_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "PAYCORE_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "PAYCORE_SHUTDOWN_GRACE_SECONDS": "20",
        "PAYCORE_DB_POOL_SIZE": "3",
        "PAYCORE_FRAUD_REDIS_TIMEOUT_MS": str(settings.fraud_redis_timeout_ms),
        **extra,
    }


@asynccontextmanager
async def serving_process(
    settings: Settings, *arguments: str, **extra: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], int, int]]:
    with reserved_port() as grpc_port, reserved_port() as metrics_port:
        serving = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once; waits are async
            [sys.executable, "-m", "paycore.cli", "serve", *arguments],
            env=server_environment(settings, grpc_port, metrics_port, **extra),
        )
        try:
            await wait_serving(grpc_port)  # the ports are held until the process serves
        except BaseException:
            _killed(serving)
            raise
    try:
        yield serving, grpc_port, metrics_port
    finally:
        _killed(serving)


def _killed(serving: subprocess.Popen[bytes]) -> None:
    if serving.poll() is None:
        serving.kill()
        serving.wait()


async def wait_serving(port: int, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            status = await health_status(f"127.0.0.1:{port}", "paycore.v1.AccountService")
        except aio.AioRpcError:
            status = None
        if status == health_pb2.HealthCheckResponse.SERVING:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing served on port {port}")


async def metadata_events(
    client: Paycore, object_id: str, kind: type[Any]
) -> list[tuple[str, dict[str, str]]]:
    """(type, the object's metadata) of every event of the object (a message of `kind`), oldest
    first."""
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    found = []
    for event in reversed(listed.data):
        carried = kind()
        assert event.data.object.Unpack(carried)
        found.append((event.type, dict(carried.metadata)))
    return found
