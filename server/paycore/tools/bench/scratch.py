"""What the self-hosted benches (`paycore bench ledger`, `paycore bench fraud`) run on: fresh
databases on a PostgreSQL server they may create and drop databases on, and settings with
throwaway secrets."""

from __future__ import annotations

import re
import secrets
import subprocess
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
        admin_token=secrets.token_urlsafe(32),
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
