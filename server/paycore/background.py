"""`spawn`: how the server starts a task that outlives the code that starts it (a worker started
on first use, a group commit's drainer, a watcher, a delivery attempt).

`asyncio.create_task` runs the new task in a copy of the current context, so a task started
lazily from inside a call would keep that call's context variables for as long as it runs: the
call itself (paycore.runtime.context: its caller's merchant, key and metadata, the API key
among them), the connection `Shards.reads_held` holds for the request (back in the pool once
the request's block ends), the writes a group's transaction holds back (paycore.storage.raw).
Whatever first used the component would decide what its worker sees, and every later caller's
work would run as that first caller's. A spawned task starts from an empty context instead:
every context variable at its default, as at the process's start, whoever started it.

A task that is part of a call (a fan-out the call awaits, such as `asyncio.gather`'s) is not
spawned: it shares the call's context on purpose (`Shards.reads_held`: "in this task and those
it starts"). `tests/test_background.py` fails on any other `create_task` or `ensure_future`
in the server.

`carried_on`: the one other start, a call's own work that must not end with the call (a change
begun at a PSP, paycore.runtime.mutations): it keeps the call's context, as a gather's task,
and its caller awaits it through `asyncio.shield`, so the caller's cancellation (its client's
deadline, a dropped connection) leaves it running to its end.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def spawn(coroutine: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """`coroutine` as a task of the running loop, in a context of its own. An empty one rather
    than a copy with the call's variables reset: a variable added later is left behind too,
    without anyone having to list it here (no variable the server sets at start-up is needed
    by a task: no decimal context, no logging context)."""
    return asyncio.get_running_loop().create_task(
        coroutine, name=name, context=contextvars.Context()
    )


def carried_on(coroutine: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """`coroutine` as a task in a copy of the current context (the call's own work, which sees
    the call as its caller does), for the caller to await through `asyncio.shield`: a
    cancellation of the caller then leaves the task to finish (paycore.runtime.mutations)."""
    return asyncio.get_running_loop().create_task(coroutine, name=name)
