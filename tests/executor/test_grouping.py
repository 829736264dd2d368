"""Group commit of the executor's recordings (issue 17): recordings that arrive together share
one transaction; a group that fails runs each of its recordings again alone, so each caller
gets its own result or error and nothing of the failed group stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from paycore.app import Platform
from paycore.background import spawn
from paycore.executor.grouping import GroupCommit, Joined, Lasts, Work
from paycore.runtime.context import begin_call, current_call
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.helpers import merchant_call

TABLE = "paycore_test_group_commit"


@pytest_asyncio.fixture
async def engine(platform: Platform) -> AsyncIterator[AsyncEngine]:
    engine = platform.shards.engines[0]
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        await connection.execute(text(f"CREATE TABLE {TABLE} (name text PRIMARY KEY, xid bigint)"))
    yield engine
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE {TABLE}"))


def recording(name: str, order: list[str], fail: bool = False) -> Work:
    async def work(connection: AsyncConnection, lasts: Lasts) -> int:
        xid = (await connection.execute(text("SELECT txid_current()"))).scalar_one()
        await connection.execute(
            text(f"INSERT INTO {TABLE} VALUES (:name, :xid)"), {"name": name, "xid": xid}
        )
        if fail:
            raise ValueError(f"{name} fails")

        async def last(connection: AsyncConnection) -> None:
            order.append(name)

        lasts.append(last)
        return int(xid)

    return work


async def stored(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text(f"SELECT name, xid FROM {TABLE}"))
        return {name: xid for name, xid in rows}


async def test_recordings_that_arrive_together_share_one_transaction(engine: AsyncEngine) -> None:
    groups, order = GroupCommit(32), list[str]()
    names = ["e", "b", "d", "a", "c"]
    xids = await asyncio.gather(
        *(groups.run(engine, name, recording(name, order)) for name in names)
    )
    assert len(set(xids)) == 1
    assert await stored(engine) == dict.fromkeys(names, xids[0])
    assert order == sorted(names)  # a group runs in its callers' order (merchant ids)


async def test_a_failed_group_runs_each_recording_alone(engine: AsyncEngine) -> None:
    groups, order = GroupCommit(32), list[str]()
    results = await asyncio.gather(
        groups.run(engine, "a", recording("a", order)),
        groups.run(engine, "b", recording("b", order, fail=True)),
        groups.run(engine, "c", recording("c", order)),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    found = await stored(engine)
    assert set(found) == {"a", "c"}  # b's rows rolled back, alone and in the group
    assert found["a"] != found["c"]  # each alone, in its own transaction
    assert [results[0], results[2]] == [found["a"], found["c"]]


async def test_a_recording_never_runs_as_another_call(engine: AsyncEngine) -> None:
    """Two calls' recordings run together in a group, by a drainer one of the calls started:
    each runs as its own call, never the other's (the events it records name their request),
    and one queued outside any call (a worker's) as none."""
    groups, order = GroupCommit(32), list[str]()
    seen: dict[str, str | None] = {}

    def observed(name: str) -> Work:
        record = recording(name, order)

        async def work(connection: AsyncConnection, lasts: Lasts) -> int:
            try:
                seen[name] = current_call().request_id
            except LookupError:  # runs as no call
                seen[name] = None
            return int(await record(connection, lasts))

        return work

    async def call(name: str) -> int:
        begin_call(merchant_call("acct_test", request_id=name))
        return int(await groups.run(engine, name, observed(name)))

    async def job(name: str) -> int:  # a task of no call, as a worker's
        return int(await groups.run(engine, name, observed(name)))

    xids = await asyncio.gather(call("a"), call("b"), spawn(job("c")))
    assert xids[0] == xids[1] == xids[2]  # one group
    assert seen == {"a": "a", "b": "b", "c": None}, seen


async def test_a_group_of_one_is_a_transaction_of_its_own(engine: AsyncEngine) -> None:
    groups, order = GroupCommit(1), list[str]()
    xids = await asyncio.gather(*(groups.run(engine, n, recording(n, order)) for n in "abc"))
    assert len(set(xids)) == 3
    with pytest.raises(ValueError, match="x fails"):
        await groups.run(engine, "x", recording("x", order, fail=True))
    assert set(await stored(engine)) == {"a", "b", "c"}


async def test_joined_lasts_of_one_kind_run_as_one_call(engine: AsyncEngine) -> None:
    calls: list[list[str]] = []

    async def run(connection: AsyncConnection, items: list[str]) -> None:
        calls.append(items)

    def joining(name: str, kind: str) -> Work:
        async def work(connection: AsyncConnection, lasts: Lasts) -> str:
            lasts.append(Joined(kind, name, run))
            return name

        return work

    groups = GroupCommit(32)
    names = await asyncio.gather(
        groups.run(engine, "m1", joining("a", "m1")),
        groups.run(engine, "m2", joining("c", "m2")),
        groups.run(engine, "m1", joining("b", "m1")),
    )
    assert list(names) == ["a", "c", "b"]
    assert calls == [["a", "b"], ["c"]]  # the group runs merchant m1's, then m2's


async def test_drained_returns_once_every_queued_recording_has_run(engine: AsyncEngine) -> None:
    """At shutdown the caller of a recording may be gone (cancelled: it gave up only the
    wait), but the recording holds a PSP's answer: `drained` waits for it, so the pools close
    after it, never under it."""
    groups, order = GroupCommit(32), list[str]()
    callers = [
        asyncio.create_task(groups.run(engine, name, recording(name, order)))
        for name in ["a", "b", "c"]
    ]
    await asyncio.sleep(0)  # queued, a drainer started
    for caller in callers:
        caller.cancel()
    await groups.drained()
    assert sorted(await stored(engine)) == ["a", "b", "c"]
    assert sorted(order) == ["a", "b", "c"]
