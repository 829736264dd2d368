"""The worker while one shard cannot be reached (a failover, a database not there yet): the
jobs on the other shards go on, and the outage is one WARNING with the reason when it starts
and one INFO when the shard answers again. Each job's loop logged a traceback at every run
instead, some two hundred a second with fifteen jobs. A job's own bug still logs its traceback
every time."""

from __future__ import annotations

import logging
import secrets

import pytest
from paycore.config import Settings
from paycore.storage.shards import asyncpg_url
from paycore.tools.bench.scratch import admin_sql, with_database
from paycore.worker.metrics import WorkerMetrics
from paycore.worker.runner import Worker
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

RUNNER = "paycore.worker.runner"


class Ask:
    """A job that asks its shard one question (a real round trip), or fails as a bug would."""

    interval_seconds = 1.0

    def __init__(self, name: str, bug: bool = False, ask: bool = True) -> None:
        self.name = name
        self._bug = bug
        self._ask = ask

    async def run(self, engine: AsyncEngine) -> int:
        if self._ask:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        if self._bug:
            raise ValueError("a bug in the job")
        return 0


async def test_an_unreachable_shard_is_one_warning_and_one_line_when_it_is_back(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"paycore_later_{secrets.token_hex(4)}"
    reachable = create_async_engine(asyncpg_url(settings.database_urls[0]))
    later_url = with_database(settings.database_urls[0], name)
    later = create_async_engine(asyncpg_url(later_url))  # no such database yet
    # The third asks nothing of its shard (as a job with nothing due may not): its success
    # there says nothing of the shard.
    jobs = [Ask("outbox_publisher"), Ask("webhook_delivery"), Ask("exchange_rates", ask=False)]
    worker = Worker(jobs, [reachable, later], WorkerMetrics(CollectorRegistry()))
    caplog.set_level(logging.INFO, logger=RUNNER)
    try:
        for _ in range(3):
            assert not await worker.run_once()
        said = [record for record in caplog.records if record.name == RUNNER]
        assert [(record.levelno, record.exc_info) for record in said] == [
            (logging.WARNING, None)
        ], said
        assert "shard 1" in said[0].getMessage()
        assert f'database "{name}" does not exist' in said[0].getMessage()

        await admin_sql(settings.database_urls[0], f'CREATE DATABASE "{name}"')
        caplog.clear()
        for _ in range(2):
            assert await worker.run_once()
        said = [record for record in caplog.records if record.name == RUNNER]
        assert [(record.levelno, record.getMessage()) for record in said] == [
            (logging.INFO, "shard 1 answers again: its jobs run")
        ]

        buggy = Worker([Ask("buggy", bug=True)], [reachable], WorkerMetrics(CollectorRegistry()))
        caplog.clear()
        for _ in range(2):
            assert not await buggy.run_once()
        said = [record for record in caplog.records if record.name == RUNNER]
        assert [record.levelno for record in said] == [logging.ERROR, logging.ERROR]
        assert all(record.exc_info for record in said)
    finally:
        await reachable.dispose()
        await later.dispose()
        await admin_sql(settings.database_urls[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
