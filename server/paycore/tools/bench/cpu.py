"""CPU seconds of processes on this machine, read from /proc: the benches report CPU per call,
which moves much less than throughput on a shared machine."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg


def cpu_seconds(pids: list[int]) -> dict[int, float] | None:
    """User + system CPU seconds of each process, None when one is not on this machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            return None
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def tree_of(pid: int) -> list[int]:
    """`pid` and its descendants (`serve --workers N`'s supervisor and its workers)."""
    tree, index = [pid], 0
    while index < len(tree):
        for task in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            try:
                tree.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue  # the thread ended meanwhile
        index += 1
    return tree


def tree_seconds(pid: int) -> dict[int, float] | None:
    """CPU seconds of `pid` and of each of its descendants; None when `pid` is not here."""
    found = cpu_seconds([pid])
    if found is None:
        return None
    for child in tree_of(pid)[1:]:
        found.update(cpu_seconds([child]) or {})  # a child may end between the two reads
    return found


async def backend_pids(admin_url: str, databases: list[str]) -> list[int]:
    """The PostgreSQL backends (autovacuum workers included) serving `databases`, asked of the
    server at `admin_url` (any database of it)."""
    connection = await asyncpg.connect(admin_url)
    try:
        return [
            pid
            for (pid,) in await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[])", databases
            )
        ]
    finally:
        await connection.close()


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by the processes of `after` (one that started
    meanwhile counts from zero; one that ended meanwhile is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
