"""Issue 23, item 6: infrastructure failures, made for real, become retryable answers."""

from __future__ import annotations

import asyncpg
from paycore.app import Platform
from paycore.errors import Reason, Status
from paycore.storage.failures import as_api_error
from paycore.storage.shards import asyncpg_url
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
