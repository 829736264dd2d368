"""What the self-hosted benches (`paycore bench ledger`, `paycore bench fraud`, ...) run on: fresh
databases on a PostgreSQL server they may create and drop databases on, and settings with
throwaway secrets."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from paycore.config import Settings
from paycore.customer.vault import new_vault_key


def with_database(url: str, database: str) -> str:
    """`url` with its database replaced by `database`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def admin_sql(url: str, statement: str) -> None:
    """Runs `statement` (CREATE / DROP DATABASE) in the server's `postgres` database."""
    connection = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def scratch_settings(
    database_urls: tuple[str, ...], redis_url: str, **overrides: object
) -> Settings:
    """Settings for an in-process server on `database_urls`, with fresh secrets."""
    settings = Settings(
        database_urls=database_urls,
        redis_url=redis_url,
        admin_token=secrets.token_hex(32),  # never begins with "-" (an option)
        key_hash_secret=secrets.token_urlsafe(32),
        vault_key=new_vault_key(),
        card_fingerprint_key=secrets.token_urlsafe(32),
    )
    return settings.with_overrides(**overrides)


def pgbench_tps(url: str, database: str, seconds: int = 10) -> float | None:
    """pgbench's TPC-B (-c 16 -j 2 -T 10) on `database` (created by the caller) of the server
    at `url`: the yardstick every bench quotes beside its own figure. None without pgbench."""
    if not pgbench_init(url, database):
        return None
    return pgbench_run(url, database, seconds)


def pgbench_init(url: str, database: str) -> bool:
    """`pgbench -i` on `database` (created by the caller); False without pgbench."""
    try:
        subprocess.run(
            ["pgbench", "-i", "-q", *_pgbench_server(url), database],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def pgbench_run(url: str, database: str, seconds: int = 10) -> float | None:
    """The TPC-B tps of `pgbench -c 16 -j 2 -T seconds` on an initialised `database`."""
    try:
        done = subprocess.run(
            ["pgbench", "-c", "16", "-j", "2", "-T", str(seconds), *_pgbench_server(url), database],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    return float(found.group(1)) if found else None


def _pgbench_server(url: str) -> list[str]:
    parts = urlsplit(url)
    return [
        *("-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)),
        *("-U", parts.username or "postgres"),
    ]


def pgbench_line(tps: float | None, when: str = "") -> str:
    """The report line every self-hosted bench ends with: pgbench's figure (`pgbench_tps`),
    the yardstick for how busy the machine was."""
    figure = f"{tps:,.0f} tps" if tps is not None else "n/a"
    return f"pgbench TPC-B (-c 16 -j 2 -T 10), same server{when}: {figure}"


@dataclass(frozen=True)
class ScratchDatabases:
    """One bench run's databases on the server at `server_url`: its paycore shards (`names`),
    and pgbench's, created only when `pgbench_tps` runs."""

    server_url: str
    run: str
    names: list[str]

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(with_database(self.server_url, name) for name in self.names)

    @property
    def pgbench_database(self) -> str:
        return f"paycore_bench_{self.run}_pgbench"

    async def pgbench_tps(self) -> float | None:
        """pgbench's TPC-B (see `pgbench_tps`) in a database of its own, created now: CREATE
        DATABASE writes the template through the WAL and checkpoints, which would cost a figure
        measured after it."""
        await admin_sql(self.server_url, f'create database "{self.pgbench_database}"')
        return await asyncio.to_thread(pgbench_tps, self.server_url, self.pgbench_database)


@asynccontextmanager
async def scratch_databases(server_url: str, shards: int = 2) -> AsyncIterator[ScratchDatabases]:
    """Creates `shards` fresh databases named after a new run id; drops them (and pgbench's)
    on the way out, whatever happened."""
    run = secrets.token_hex(4)
    scratch = ScratchDatabases(server_url, run, [f"paycore_bench_{run}_{i}" for i in range(shards)])
    for name in scratch.names:
        await admin_sql(server_url, f'create database "{name}"')
    try:
        yield scratch
    finally:
        for name in [*scratch.names, scratch.pgbench_database]:
            await admin_sql(server_url, f'drop database if exists "{name}" with (force)')
