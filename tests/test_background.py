"""Tasks that outlive the code that starts them are spawned in a context of their own
(paycore.background): a worker started lazily inside a call would otherwise run as that call,
with its caller and the connection it held, for as long as it lives."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

from paycore.app import Platform
from paycore.background import spawn
from paycore.runtime.context import begin_call, current_call
from sqlalchemy import text

from tests.helpers import MerchantFixture, merchant_call

SERVER = Path(__file__).resolve().parents[1] / "server" / "paycore"
STARTS_A_TASK = {"create_task", "ensure_future"}


def task_starts(path: Path) -> list[str]:
    """Where `path` starts a task itself (`asyncio.create_task`, `loop.create_task`,
    `ensure_future`, imported by name or not)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        if name in STARTS_A_TASK:
            found.append(f"{path.relative_to(SERVER)}:{node.lineno}")
    return found


def test_the_server_starts_its_tasks_through_spawn() -> None:
    """A task a call awaits (`asyncio.gather`'s) is part of the call; any other is spawned."""
    starts = [
        start
        for path in sorted(SERVER.rglob("*.py"))
        if path != SERVER / "background.py"
        for start in task_starts(path)
    ]
    assert starts == []


async def test_a_spawned_task_runs_as_no_call_and_holds_no_connection(
    platform: Platform, merchant: MerchantFixture
) -> None:
    shards, merchant_id = platform.shards, merchant.merchant.id
    pid = text("select pg_backend_pid()")

    async def spawned() -> tuple[bool, int]:
        try:
            current_call()
        except LookupError:
            in_a_call = False
        else:
            in_a_call = True
        async with shards.read(merchant_id) as connection:
            return in_a_call, int((await connection.execute(pid)).scalar_one())

    async def call() -> tuple[int, bool, int]:
        begin_call(merchant_call(merchant_id))
        async with shards.reads_held(merchant_id):
            async with shards.read(merchant_id) as connection:
                held = int((await connection.execute(pid)).scalar_one())
            return held, *await spawn(spawned())

    held, in_a_call, reads_on = await asyncio.create_task(call())
    assert not in_a_call
    assert reads_on != held  # its own checkout: the held connection is idle, but the call's
