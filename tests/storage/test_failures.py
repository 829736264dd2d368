"""Issue 23, item 6: infrastructure failures, made for real, become retryable answers."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time

import asyncpg
import pytest
from paycore.app import Platform
from paycore.config import Settings
from paycore.errors import Reason, Status
from paycore.storage.failures import as_api_error, database_unreachable
from paycore.storage.shards import asyncpg_url
from paycore.tools.bench.scratch import admin_sql, with_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import free_port


async def test_a_lock_timeout_is_aborted_with_a_retry_delay(platform: Platform) -> None:
    engine = platform.shards.engines[0]
    async with engine.connect() as holder, engine.connect() as waiter:
        await holder.execute(text("select pg_advisory_lock(230023)"))
        try:
            await waiter.execute(text("set lock_timeout = '100ms'"))
            try:
                await waiter.execute(text("select pg_advisory_lock(230023)"))
            except Exception as error:  # what the servicer would see
                answer = as_api_error(error)
            else:
                raise AssertionError("the lock was granted")
        finally:
            await holder.execute(text("select pg_advisory_unlock(230023)"))
    assert answer is not None
    assert (answer.reason, answer.status) == (Reason.DATABASE_CONFLICT, Status.ABORTED)
    assert int(answer.metadata["retry_after_ms"]) > 0


async def test_an_unreachable_database_is_unavailable_with_a_retry_delay() -> None:
    nowhere = create_async_engine(
        asyncpg_url(f"postgresql://postgres@127.0.0.1:{free_port()}/paycore"),
        connect_args={"timeout": 1},
    )
    try:
        async with nowhere.connect() as connection:
            await connection.execute(text("select 1"))
    except Exception as error:
        answer = as_api_error(error)
    else:
        raise AssertionError("connected to nothing")
    finally:
        await nowhere.dispose()
    assert answer is not None
    assert (answer.reason, answer.status) == (Reason.DATABASE_UNAVAILABLE, Status.UNAVAILABLE)
    assert int(answer.metadata["retry_after_ms"]) > 0


async def _refusal(url: str) -> Exception:
    """What a servicer or a worker's job meets when the shard at `url` refuses a new
    connection."""
    engine = create_async_engine(asyncpg_url(url), connect_args={"timeout": 2})
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
    except Exception as error:
        return error
    finally:
        await engine.dispose()
    raise AssertionError("connected")


@pytest.mark.parametrize(
    "outage",
    [
        # An operator closing a shard to new sessions (maintenance, a failover in progress):
        # SQLSTATE 55000, "database ... is not currently accepting connections".
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false",
        # The shard's database renamed (or dropped) under a running server: 3D000.
        "ALTER DATABASE {name} RENAME TO {name}_gone",
    ],
)
async def test_a_shard_that_refuses_new_connections_is_unavailable(
    settings: Settings, outage: str
) -> None:
    """Probe (a shard taken away mid-traffic): payments of its merchants answered INTERNAL
    with a traceback, as if paycore had a bug, instead of a retryable UNAVAILABLE; and the
    worker logged every job's every run on that shard as a failure with its traceback,
    instead of the one "shard unreachable" warning (paycore.worker.runner)."""
    name = f"paycore_closed_{secrets.token_hex(4)}"
    url = with_database(settings.database_urls[0], name)
    await admin_sql(url, f'CREATE DATABASE "{name}"')
    try:
        await admin_sql(url, outage.format(name=name))
        refusal = await _refusal(url)
    finally:
        for each in (name, f"{name}_gone"):
            await admin_sql(url, f'DROP DATABASE IF EXISTS "{each}" WITH (FORCE)')
    answer = as_api_error(refusal)
    assert answer is not None
    assert (answer.reason, answer.status) == (Reason.DATABASE_UNAVAILABLE, Status.UNAVAILABLE)
    assert int(answer.metadata["retry_after_ms"]) > 0
    assert database_unreachable(refusal)


async def _terminate(url: str, pid: int) -> None:
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_whose_backend_was_terminated_while_idle_is_unavailable(
    settings: Settings,
) -> None:
    """Probe (a shard's backends terminated under traffic, as a failover or an operator's
    pg_terminate_backend does): a pooled connection that read its backend's FATAL while idle,
    before the end of its stream, passes the pool's check (not closed yet) and fails its next
    statement with asyncpg's InternalClientError ("another operation (2) is in progress":
    still consuming that error), which answered INTERNAL; one such call per terminated
    connection, in a run of 15 terminations under traffic 7 of 278 payments."""
    url = settings.database_urls[0]
    connection = await asyncpg.connect(url)
    try:
        # A busy server's loop: the backend is terminated while this loop runs other work.
        terminator = threading.Thread(
            target=asyncio.run, args=(_terminate(url, connection.get_server_pid()),)
        )
        terminator.start()
        terminator.join()
        time.sleep(0.2)  # noqa: ASYNC251 - the FATAL and the end of stream both arrive
        for _ in range(2):  # the loop reads the FATAL, not yet the end of the stream
            await asyncio.sleep(0)
        try:
            await connection.fetchval("SELECT 1")
        except Exception as error:
            answer = as_api_error(error)
        else:
            raise AssertionError("the terminated backend answered")
    finally:
        connection.terminate()
    assert answer is not None
    assert (answer.reason, answer.status) == (Reason.DATABASE_UNAVAILABLE, Status.UNAVAILABLE)


async def test_a_statement_that_never_answers_is_unavailable(platform: Platform) -> None:
    """A frozen server: asyncpg's command timeout ends the wait."""
    engine = platform.shards.engines[0]
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        try:
            await driver.execute("select pg_sleep(5)", timeout=0.2)
        except TimeoutError as error:
            answer = as_api_error(error)
        else:
            raise AssertionError("the statement answered")
        await connection.invalidate()
    assert answer is not None and answer.status == Status.UNAVAILABLE


def test_a_bug_stays_a_bug() -> None:
    assert as_api_error(KeyError("x")) is None
    assert as_api_error(AssertionError("x")) is None
