"""The embedded default with real PostgreSQL and Redis processes, started from the wheels."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis.asyncio as aioredis
from paycore.customer.vault import Vault
from paycore.tools.embedded import (
    EmbeddedServerError,
    EmbeddedServers,
    load_or_create_dev_secrets,
    start_embedded,
)

CHILD_READY_TIMEOUT_SECONDS = 60

# A `paycore dev` stand-in: starts the servers, says so, then waits to be killed.
CHILD_PROGRAM = """
import sys, time
from pathlib import Path
from paycore.tools.embedded import start_embedded
with start_embedded(Path(sys.argv[1])):
    print("ready", flush=True)
    time.sleep(600)
"""


def processes_in(data_dir: Path) -> list[psutil.Process]:
    """Running processes working inside `data_dir` (postgres and redis chdir into their data
    folders). Zombies are excluded: they have exited, only their reaping is pending."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if Path(process.cwd()).is_relative_to(data_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


async def assert_all_answer(servers: EmbeddedServers) -> None:
    for url in servers.database_urls:
        connection = await asyncpg.connect(url)
        try:
            assert await connection.fetchval("select 1") == 1
        finally:
            await connection.close()
    client = aioredis.Redis.from_url(servers.redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


def run_and_sigkill_a_child(data_dir: Path) -> None:
    """Starts the servers from another process and SIGKILLs it once they are up, so that
    they outlive their owner as a crashed `paycore dev` would leave them."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD_PROGRAM, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "ready"
        finally:
            child.kill()
            child.wait(timeout=CHILD_READY_TIMEOUT_SECONDS)


@contextlib.contextmanager
def unrelated_process() -> Iterator[int]:
    """A live process that is not a server: what a pid in a stale pid file may name."""
    with subprocess.Popen(["sleep", "60"]) as process:
        try:
            yield process.pid
        finally:
            process.kill()


@pytest.mark.slow
async def test_starts_from_an_empty_folder_and_reuses_its_data(tmp_path: Path) -> None:
    with start_embedded(tmp_path) as servers:
        assert servers.database_urls == (
            f"postgresql://postgres@/paycore_0?host={tmp_path}/postgres",
            f"postgresql://postgres@/paycore_1?host={tmp_path}/postgres",
        )
        assert servers.redis_url == f"unix://{tmp_path}/redis/redis.sock?db=0"
        await assert_all_answer(servers)
        connection = await asyncpg.connect(servers.database_urls[0])
        try:
            await connection.execute("create table kept (note text); insert into kept values ('x')")
        finally:
            await connection.close()
        client = aioredis.Redis.from_url(servers.redis_url)
        try:
            await client.set("kept", "y")
        finally:
            await client.aclose()
        with pytest.raises(EmbeddedServerError, match="in use by pid"), start_embedded(tmp_path):
            pass
    assert processes_in(tmp_path) == []

    with start_embedded(tmp_path) as servers:
        connection = await asyncpg.connect(servers.database_urls[0])
        try:
            assert await connection.fetchval("select note from kept") == "x"
        finally:
            await connection.close()
        client = aioredis.Redis.from_url(servers.redis_url)
        try:
            assert await client.get("kept") == b"y"
        finally:
            await client.aclose()
    assert processes_in(tmp_path) == []


@pytest.mark.slow
async def test_starts_after_a_run_that_was_sigkilled(tmp_path: Path) -> None:
    # Only the owner died: its servers still run and must be replaced, then stopped.
    run_and_sigkill_a_child(tmp_path)
    assert {process.name() for process in processes_in(tmp_path)} >= {"postgres", "redis-server"}
    with start_embedded(tmp_path) as servers:
        await assert_all_answer(servers)
    assert processes_in(tmp_path) == []

    # Everything died: postmaster.pid, the socket lock and redis.sock stay behind, and the
    # pid they name is now a live unrelated process (pids are reused), which postgres would
    # take for a running postmaster.
    run_and_sigkill_a_child(tmp_path)
    for process in processes_in(tmp_path):
        process.send_signal(signal.SIGKILL)
    with unrelated_process() as unrelated_pid:
        for lock_name in ("postmaster.pid", ".s.PGSQL.5432.lock"):
            lock_path = tmp_path / "postgres" / lock_name
            lines = lock_path.read_text().split("\n")
            lock_path.write_text("\n".join([str(unrelated_pid), *lines[1:]]))
        assert (tmp_path / "redis" / "redis.sock").exists()
        with start_embedded(tmp_path) as servers:
            await assert_all_answer(servers)
    assert processes_in(tmp_path) == []


def test_refuses_a_data_folder_too_deep_for_unix_sockets(tmp_path: Path) -> None:
    too_deep = tmp_path / ("d" * 100)
    with pytest.raises(EmbeddedServerError, match="too deep"), start_embedded(too_deep):
        pass
    assert not too_deep.exists()


def test_rejects_a_shard_count_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shard_count"), start_embedded(tmp_path, shard_count=0):
        pass


def test_dev_secrets_are_created_once_private_and_masked(tmp_path: Path) -> None:
    created = load_or_create_dev_secrets(tmp_path / "fresh")
    path = tmp_path / "fresh" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(created.admin_token) >= 43
    assert len(created.key_hash_secret) >= 43
    assert created.admin_token != created.key_hash_secret
    assert load_or_create_dev_secrets(tmp_path / "fresh") == created
    assert Vault.from_setting(created.vault_key) is not None
    for shown in (repr(created), str(created), f"{created}"):
        for value in vars(created).values():
            assert value not in shown
        assert "***" in shown
    assert os.listdir(tmp_path / "fresh") == ["secrets.json"]


def test_damaged_dev_secrets_are_an_error_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text('{"admin_token": "a"}')
    with pytest.raises(EmbeddedServerError, match="damaged"):
        load_or_create_dev_secrets(tmp_path)
    assert (tmp_path / "secrets.json").read_text() == '{"admin_token": "a"}'


def test_dev_secrets_from_before_the_card_keys_get_them_added(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"admin_token": "admin-kept", "key_hash_secret": "hash-kept"}')
    path.chmod(0o600)
    loaded = load_or_create_dev_secrets(tmp_path)
    assert (loaded.admin_token, loaded.key_hash_secret) == ("admin-kept", "hash-kept")
    assert Vault.from_setting(loaded.vault_key) is not None
    assert len(loaded.card_fingerprint_key) >= 43
    assert load_or_create_dev_secrets(tmp_path) == loaded
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["secrets.json"]
