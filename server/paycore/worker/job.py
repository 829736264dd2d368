"""What the worker runs: a named batch of background work, done on one physical shard at a
time, again and again (docs/design.md, "Events and background work")."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine


class Job(Protocol):
    @property
    def name(self) -> str:
        """The job's metric label and log name, e.g. "outbox_publisher"."""

    @property
    def interval_seconds(self) -> float:
        """How long a loop waits (with jitter) after a run that found nothing to do. A run
        that did something is followed at once by the next: a backlog drains batch by batch."""

    async def run(self, engine: AsyncEngine) -> int:
        """One bounded batch on the shard behind `engine`, in short transactions; returns how
        many items it processed. It claims its rows with `FOR UPDATE SKIP LOCKED` (or another
        lock that lets a concurrent run skip them), so runs side by side never do a row twice;
        and it is idempotent, so work redone after a crash changes nothing."""


@dataclass(frozen=True)
class ShardJob:
    """A Job that is one call on the shard, `run(engine)`: how every job that adapts a domain's
    batch is declared (paycore.worker.jobs, the dispute feed, the daily reconciliation)."""

    name: str
    interval_seconds: float
    run: Callable[[AsyncEngine], Coroutine[Any, Any, int]]
