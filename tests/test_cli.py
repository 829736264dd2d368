"""`paycore` says in one line why a process cannot start, and exits 2: no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
from alembic import command as alembic
from paycore.app import build_platform, start_server
from paycore.config import Settings
from paycore.storage.migrate import MIGRATION_LOCK_ID, alembic_config
from paycore.storage.shards import asyncpg_url
from paycore.tools.bench.scratch import with_database
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.helpers import fresh_databases, reserved_port


def unset_settings() -> dict[str, str]:
    """This process's environment without any PAYCORE_* setting: a command sees only those
    a test gives it."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")}


def paycore(
    *arguments: str, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`python -m paycore.cli <arguments>` run to its end with only `settings` set
    (PAYCORE_DATABASE_URLS=...), its output and errors as text."""
    return subprocess.run(
        [sys.executable, "-m", "paycore.cli", *arguments],
        env={**unset_settings(), **settings},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def database_at(url: str, revision: str) -> None:
    """Migrates the (fresh) database at `url` to `revision`: one an older paycore left."""
    engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: alembic.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


def test_a_second_dev_on_the_same_data_folder_is_one_line(tmp_path: Path) -> None:
    # What `make run` meets when another `make run` holds the folder: the embedded servers'
    # lock, held here as `paycore dev` holds it.
    with (tmp_path / "embedded.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        done = paycore("dev", timeout=60, PAYCORE_DATA_DIR=str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"paycore: {tmp_path} is in use by pid 4242 (another `paycore dev`?)\n"
    ), done.stderr


def test_migrate_names_the_shard_it_cannot_reach_in_one_line(settings: Settings) -> None:
    """A database that does not exist, or a port nobody listens on: one line naming the shard
    and its URL without the password, not three chained tracebacks."""
    missing = with_database(settings.database_urls[0], f"paycore_nowhere_{secrets.token_hex(4)}")
    refused = "postgresql://paycore:s3cret-password@127.0.0.1:1/paycore"
    done = paycore(
        "migrate", PAYCORE_DATABASE_URLS=f"{settings.database_urls[0]},{missing},{refused}"
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    line = done.stderr.splitlines()[-1]  # after shard 0's migration
    assert line.startswith("paycore: shard 1 (") and "does not exist" in line, line
    assert missing.rpartition("/")[2] in line
    done = paycore("migrate", PAYCORE_DATABASE_URLS=refused)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("paycore: shard 0 (") and "127.0.0.1:1" in line, line
    assert "s3cret-password" not in line


def test_shards_names_a_logical_shard_that_does_not_exist_in_one_line(
    migrated: Settings,
) -> None:
    urls = ",".join(migrated.database_urls)
    last = migrated.logical_shard_count - 1
    for command in (
        ["move", "--logical", str(last + 1), "--to", "0"],
        ["move", "--logical", "-1", "--to", "0"],
        ["abort", "--logical", str(last + 1)],
    ):
        done = paycore("shards", *command, PAYCORE_DATABASE_URLS=urls)
        assert done.returncode != 0, (command, done.stdout)
        assert done.stderr.splitlines() == [
            f"paycore shards {command[0]}: there is no logical shard {command[2]}"
            f" (this deployment's are 0 to {last})"
        ], (command, done.stderr)


async def test_health_asks_the_configured_grpc_address_by_default(target: str) -> None:
    """`paycore health` without --target asks where PAYCORE_GRPC_ADDR says the server listens
    (0.0.0.0 asked on loopback), as every other command reads its address; it asked
    127.0.0.1:50051 whatever was set, and said NOT_SERVING of a healthy server elsewhere."""
    port = target.rpartition(":")[2]
    env = unset_settings()
    for configured in (f"127.0.0.1:{port}", f"0.0.0.0:{port}"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paycore.cli",
            "health",
            env={**env, "PAYCORE_GRPC_ADDR": configured},
            stdout=asyncio.subprocess.PIPE,
        )
        output, _ = await process.communicate()
        assert (process.returncode, output.decode().strip()) == (0, "SERVING"), configured


async def health_says(*arguments: str, **settings: str) -> tuple[int | None, str]:
    env = unset_settings() | settings
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paycore.cli",
        "health",
        *arguments,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode().strip()


async def test_health_tells_an_unreachable_server_and_an_unknown_service_from_not_serving(
    target: str,
) -> None:
    """An operator reading `paycore health` after a shutdown, or with a mistyped service, was
    told NOT_SERVING, the status a server reports of itself: a stopped server and a service
    name the server does not know now say so (exit 1 still, as probes read it)."""
    with reserved_port() as port:  # bound, never listening: nothing answers there
        # Refused at once, UNAVAILABLE; the deadline only bounds a machine too loaded to try
        # within it (1 s was DEADLINE_EXCEEDED there).
        code, said = await health_says("--target", f"127.0.0.1:{port}", "--timeout-seconds", "30")
    assert code == 1
    assert said.startswith(f"UNREACHABLE: 127.0.0.1:{port} (UNAVAILABLE: "), said
    code, said = await health_says("--target", target, "--service", "paycore.v1.NoSuchService")
    assert (code, said) == (
        1,
        "SERVICE_UNKNOWN: the server at "
        f"{target} has no service paycore.v1.NoSuchService (NOT_FOUND)",
    )
    code, said = await health_says("--target", target, "--service", "paycore.v1.LedgerService")
    assert (code, said) == (0, "SERVING")


async def test_health_asks_an_internal_service_where_the_internal_port_listens(
    migrated: Settings,
) -> None:
    """With PAYCORE_INTERNAL_GRPC_ADDR set, the ledger, executor and reconciliation answer there
    only: `paycore health --service paycore.v1.LedgerService` asked the public port and said
    SERVICE_UNKNOWN of a serving ledger. Without --target it asks the port that serves the
    service; a --target given is asked as it is."""
    settings = migrated.with_overrides(internal_grpc_addr="127.0.0.1:0")
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    assert server.internal is not None
    addresses = {
        "PAYCORE_GRPC_ADDR": f"127.0.0.1:{server.port}",
        "PAYCORE_INTERNAL_GRPC_ADDR": f"127.0.0.1:{server.internal.port}",
    }
    try:
        for service in ("paycore.v1.LedgerService", "paycore.v1.AccountService", ""):
            said = await health_says("--service", service, **addresses)
            assert said == (0, "SERVING"), service
        public = addresses["PAYCORE_GRPC_ADDR"]
        said = await health_says(
            "--target", public, "--service", "paycore.v1.LedgerService", **addresses
        )
        assert said == (
            1,
            f"SERVICE_UNKNOWN: the server at {public} has no service paycore.v1.LedgerService"
            " (NOT_FOUND)",
        )
    finally:
        await server.stop(1)
        await platform.close()


def test_ctrl_c_before_a_command_is_up_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C while a command is still starting (`make run` migrating, the simulator not yet
    healthy; here `paycore shards show` waiting on a database that does not answer): what it
    started is stopped on the way out, and the reader gets one line and the shell's 130, not
    a KeyboardInterrupt traceback through the startup code."""
    with socket.socket() as silent:  # listens, never accepts: the connection waits
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        env = unset_settings()
        env |= {
            "PAYCORE_DATA_DIR": str(tmp_path),
            "PAYCORE_DATABASE_URLS": f"postgresql://postgres@127.0.0.1:{port}/nothing",
            "PAYCORE_DB_CONNECT_TIMEOUT_MS": "60000",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "paycore.cli", "shards", "show"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A terminal's Ctrl-C reaches a foreground process whose SIGINT is not ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            # The command is waiting on the database once its connection is in the backlog.
            readable, _, _ = select.select([silent], [], [], 60)
            assert readable, "paycore shards show never connected"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert err == "paycore: interrupted\n", err
    assert out == ""


def test_shards_names_the_shard_it_cannot_reach_in_one_line(settings: Settings) -> None:
    """`paycore shards show|move|abort` with a database that does not exist or a port nobody
    listens on: one line naming the shard and its URL without the password, exit 2, as
    `paycore migrate` says it, not a driver traceback."""
    missing = with_database(settings.database_urls[0], f"paycore_nowhere_{secrets.token_hex(4)}")
    refused = "postgresql://paycore:s3cret-password@127.0.0.1:1/paycore"
    for urls, shard, said in (
        (refused, 0, "127.0.0.1:1"),
        (f"{settings.database_urls[0]},{missing}", 1, "does not exist"),
    ):
        for command in (
            ["show"],
            ["move", "--logical", "1", "--to", "0"],
            ["abort", "--logical", "1"],
        ):
            done = paycore("shards", *command, PAYCORE_DATABASE_URLS=urls)
            assert done.returncode == 2, (command, done.stderr)
            (line,) = done.stderr.splitlines()
            assert line.startswith(f"paycore: shard {shard} (") and said in line, (command, line)
            assert "s3cret-password" not in line


def test_shards_move_to_a_database_not_in_the_list_says_to_add_it(migrated: Settings) -> None:
    """The move's first step is adding the new database to PAYCORE_DATABASE_URLS
    (deploy/README.md): a shell that lacks it was told only 'there is no physical shard 2'."""
    count = len(migrated.database_urls)
    done = paycore(
        "shards",
        "move",
        "--logical",
        "1",
        "--to",
        str(count),
        PAYCORE_DATABASE_URLS=",".join(migrated.database_urls),
    )
    assert done.returncode == 1, done.stdout
    assert done.stderr.splitlines() == [
        f"paycore shards move: there is no physical shard {count} (PAYCORE_DATABASE_URLS names"
        f" {count}, 0 to {count - 1}: add the new database there, in every process, first)"
    ], done.stderr


async def test_shards_move_to_a_database_not_migrated_says_to_migrate(migrated: Settings) -> None:
    """The procedure runs `paycore migrate` after adding the database; a move to one that was
    not migrated ended in asyncpg's UndefinedTableError traceback (relation "api_keys")."""
    count = len(migrated.database_urls)
    command = ["shards", "move", "--logical", "1", "--to", str(count)]
    async with fresh_databases(migrated.database_urls[:1]) as (empty,):
        urls = ",".join((*migrated.database_urls, empty))
        done = await asyncio.to_thread(paycore, *command, PAYCORE_DATABASE_URLS=urls)
    assert done.returncode == 1, done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"paycore shards move: physical shard {count} is not migrated (schema none, physical"
        " shard 1's "
    ), line
    assert line.endswith("): run `paycore migrate` first"), line


def test_serve_refuses_fewer_than_one_worker() -> None:
    """`paycore serve --workers 0` served with one process as if nothing were wrong, where
    `paycore worker --concurrency 0` is refused."""
    done = paycore("serve", "--workers", "0")
    assert done.returncode == 2, done.stderr
    assert done.stderr == "paycore: --workers must be at least 1\n", done.stderr


async def test_shards_on_a_database_from_before_the_shard_map_say_to_migrate(
    settings: Settings,
) -> None:
    """A deployment migrated before the shard map existed (revision 0015) gets it from its
    next `paycore migrate` (deploy/README.md); `paycore shards` before that ended in
    SQLAlchemy's ProgrammingError traceback (relation "shard_map" does not exist)."""
    async with fresh_databases(settings.database_urls[:1]) as (old,):
        await database_at(old, "0015")
        for arguments in (["show"], ["abort", "--logical", "1"]):
            done = await asyncio.to_thread(paycore, "shards", *arguments, PAYCORE_DATABASE_URLS=old)
            assert done.returncode == 2, (arguments, done.stderr)
            (line,) = done.stderr.splitlines()
            assert line.startswith("paycore: shard 0 ("), line
            assert line.endswith(
                "): no shard map yet (migrated by an older paycore): run `paycore migrate` first"
            ), line


async def test_migrate_that_loses_a_deadlock_says_to_run_it_again(settings: Settings) -> None:
    """`paycore migrate` runs while the release before serves (deploy/README.md); its DDL can
    deadlock with a running transaction, and PostgreSQL then ends the migration: that was a
    traceback, now one line saying nothing changed there and to run it again."""
    async with fresh_databases(settings.database_urls[:1]) as (old,):
        await database_at(old, "0065")
        running = await asyncpg.connect(old)
        try:
            # Whichever waiter's deadlock_timeout passes first with the cycle closed detects the
            # deadlock and gives way, and the check runs once: at PostgreSQL's 1 s for both, a
            # loaded machine that took longer than that to ask for the lock below made this
            # test the one to give way. The migration's check at 5 s, this one's never within
            # the test, let the migration give way unless asking takes 5 s.
            database = await running.fetchval("SELECT current_database()")
            await running.execute(f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '5s'")
            await running.execute("SET deadlock_timeout = '10min'")
            transaction = running.transaction()
            await transaction.start()
            # 0066 indexes invoices: the migration waits on this lock, holding its own.
            await running.execute("LOCK TABLE invoices IN ROW EXCLUSIVE MODE")
            migrating = asyncio.create_task(
                asyncio.to_thread(paycore, "migrate", PAYCORE_DATABASE_URLS=old)
            )
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                " AND relation = 'invoices'::regclass"
            )
            for _ in range(1200):  # the migration waits on the lock within a minute
                if await running.fetchval(waiting):
                    break
                await asyncio.sleep(0.05)
            with contextlib.suppress(asyncpg.DeadlockDetectedError):
                await running.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_ID)
            done = await migrating
            await transaction.rollback()
        finally:
            await running.close()
    assert done.returncode == 2, done.stderr
    line = done.stderr.splitlines()[-1]
    assert line.startswith("paycore: shard 0 ("), done.stderr
    assert line.endswith(
        "): the migration gave way to a running transaction (deadlock detected); nothing"
        " changed there: run `paycore migrate` again"
    ), done.stderr
