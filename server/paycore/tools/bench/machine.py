"""What a run of `paycore bench <scenario>` cost and what the machine gave at the time, so that
its figures compare across runs on a noisy machine: CPU per OK call of each process group
(the server and its workers, the PSP simulator, the PostgreSQL backends of the server's
databases, the load generator), pgbench's TPC-B right before and right after, and the load
average. Processes are read from /proc, so they must run on this machine."""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from paycore.tools.bench.cpu import backend_pids, cpu_seconds, spent, tree_seconds
from paycore.tools.bench.scratch import admin_sql, pgbench_init, pgbench_run, with_database

PGBENCH_SECONDS = 10
CONNECT_ATTEMPTS = 20


@dataclass(frozen=True)
class Watch:
    """What to measure besides the calls."""

    server_pids: tuple[int, ...] = ()
    """`paycore serve` processes, each with its descendants (`--workers N`)."""

    psp_pid: int | None = None
    """The PSP simulator (`paycore psp`)."""

    database_urls: tuple[str, ...] = ()
    """The server's shards: their backends are counted (PostgreSQL on this machine)."""

    pgbench_url: str | None = None
    """A PostgreSQL server to run pgbench's TPC-B on (a scratch database) before and after."""

    pgbench_seconds: int = PGBENCH_SECONDS

    @property
    def asked(self) -> bool:
        """Whether anything besides the calls is to be measured."""
        return bool(self.server_pids or self.psp_pid or self.database_urls or self.pgbench_url)


@dataclass(frozen=True)
class Machine:
    """A run's CPU by process group and the machine around it."""

    cpu_seconds: dict[str, float]
    """CPU seconds spent during the calls: "server", "psp", "postgres", "client"."""

    processes: dict[str, int]
    """How many processes each group counted."""

    server_seconds_by_pid: dict[int, float] = field(default_factory=dict)
    """Per `--server-pid`, with its descendants."""

    pgbench_tps: tuple[float | None, float | None] = (None, None)
    """pgbench's TPC-B before and after (None: not run, or it failed)."""

    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average before and after the calls."""

    def cpu_ms_per_call(self, calls: int) -> dict[str, float]:
        per = 1e3 / max(calls, 1)
        return {group: seconds * per for group, seconds in self.cpu_seconds.items()}

    def to_json(self, calls: int) -> dict[str, Any]:
        cpu = self.cpu_ms_per_call(calls)
        served = sum(ms for group, ms in cpu.items() if group != "client")
        return {
            "cpu_ms_per_ok_call": {group: round(ms, 3) for group, ms in cpu.items()},
            "cpu_ms_per_ok_call_served": round(served, 3),
            "processes": self.processes,
            "pgbench_tps": dict(zip(("before", "after"), self.pgbench_tps, strict=True)),
            "load_average": dict(zip(("before", "after"), self.load, strict=True)),
        }

    def lines(self, calls: int) -> list[str]:
        cpu = self.cpu_ms_per_call(calls)
        served = sum(ms for group, ms in cpu.items() if group != "client")
        shown = ", ".join(
            f"{group} {ms:.2f}"
            + (f" ({self.processes[group]})" if self.processes[group] > 1 else "")
            for group, ms in cpu.items()
        )
        # Only the client watched (no --server-pid, --psp-pid, --postgres): there is no sum to
        # show, and "without the client 0.00" would read as a server that cost nothing.
        served_shown = f"; without the client {served:.2f}" if set(cpu) - {"client"} else ""
        lines = [f"  CPU ms per OK call  {shown}{served_shown}  (process counts in brackets)"]
        before, after = self.pgbench_tps
        if (before, after) != (None, None):
            lines.append(
                f"  pgbench TPC-B       {_tps(before)} before, {_tps(after)} after"
                f" (-c 16 -j 2 -T {PGBENCH_SECONDS}, same server)"
            )
        lines.append(f"  load average        {self.load[0]:.2f} before, {self.load[1]:.2f} after")
        return lines


def _tps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} tps"


class Meter:
    """`start` before the calls, `stop` right after them; `pgbench` around both."""

    def __init__(self, watch: Watch) -> None:
        self._watch = watch
        self._before: dict[str, dict[int, float]] = {}
        self._pgbench_database = f"paycore_bench_pgbench_{secrets.token_hex(4)}"
        self._pgbench_before: float | None = None
        self._load_before = 0.0

    async def pgbench_before(self) -> None:
        url = self._watch.pgbench_url
        if url is None:
            return
        await admin_sql(url, f'CREATE DATABASE "{self._pgbench_database}"')
        if await asyncio.to_thread(pgbench_init, url, self._pgbench_database):
            self._pgbench_before = await self._pgbench(url)

    async def _pgbench(self, url: str) -> float | None:
        """None when pgbench failed (on a shared server: max_connections reached, say)."""
        return await asyncio.to_thread(
            pgbench_run, url, self._pgbench_database, self._watch.pgbench_seconds
        )

    async def start(self) -> None:
        self._load_before = os.getloadavg()[0]
        self._before = await self._read()

    async def stop(self) -> Machine:
        after = await self._read()
        load_after = os.getloadavg()[0]
        pgbench_after = None
        if (url := self._watch.pgbench_url) is not None:
            try:
                pgbench_after = await self._pgbench(url)
            finally:
                await admin_sql(
                    url,
                    f'DROP DATABASE IF EXISTS "{self._pgbench_database}" WITH (FORCE)',
                )
        by_pid = {
            pid: spent(self._before[f"server {pid}"], after[f"server {pid}"])
            for pid in self._watch.server_pids
        }
        groups: dict[str, float] = {}
        counts: dict[str, int] = {}
        for name, readings in after.items():
            group = name.split()[0]
            groups[group] = groups.get(group, 0.0) + spent(self._before[name], readings)
            counts[group] = counts.get(group, 0) + len(readings)
        pgbench = (self._pgbench_before, pgbench_after)
        return Machine(groups, counts, by_pid, pgbench, (self._load_before, load_after))

    async def _read(self) -> dict[str, dict[int, float]]:
        readings: dict[str, dict[int, float]] = {}
        for pid in self._watch.server_pids:
            readings[f"server {pid}"] = _required(tree_seconds(pid), pid)
        if self._watch.psp_pid is not None:
            readings["psp"] = _required(tree_seconds(self._watch.psp_pid), self._watch.psp_pid)
        if self._watch.database_urls:
            readings["postgres"] = await _backends(self._watch.database_urls)
        readings["client"] = {0: _client_seconds()}
        return readings


def _required(found: dict[int, float] | None, pid: int) -> dict[int, float]:
    if found is None:
        raise SystemExit(f"process {pid} does not run on this machine")
    return found


async def _backends(database_urls: tuple[str, ...]) -> dict[int, float]:
    """CPU seconds of the backends serving the databases of `database_urls` (one server)."""
    databases = [urlsplit(url).path.lstrip("/") for url in database_urls]
    admin_url = with_database(database_urls[0], "postgres")
    for attempt in range(CONNECT_ATTEMPTS):  # a shared server may be out of connections
        try:
            pids = await backend_pids(admin_url, databases)
            break
        except (OSError, asyncpg.PostgresError):
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.5)
    found: dict[int, float] = {}
    for pid in pids:
        found.update(cpu_seconds([pid]) or {})  # a backend may end between the two reads
    return found


def _client_seconds() -> float:
    """This process and its waited-for children (bench processes, ghz): the load generator."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
