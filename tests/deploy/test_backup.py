"""deploy/backup: a shard-by-shard pg_dump, restored into fresh databases, gives a platform whose
ledger is sound and whose every object reads back (the procedure in deploy/README.md)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import yaml
from paycore.app import build_platform, start_server
from paycore.client import Paycore, connect
from paycore.config import Settings
from paycore.storage.schema import metadata
from paycore.v1 import account_pb2, customer_pb2, ledger_pb2, subscription_pb2
from prometheus_client import CollectorRegistry

from tests.deploy.support import DEPLOY, binary
from tests.helpers import MerchantFixture, fresh_databases
from tests.ledger.support import account, post, transfer_id


async def server_major(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SHOW server_version_num")) // 10000
    finally:
        await connection.close()


def tools_folder(major: int) -> str:
    """The folder of a pg_dump of the server's major version: the machine's, or the one the
    pgserver wheel ships (the embedded default runs PostgreSQL 16)."""
    candidates = [Path(binary("pg_dump", "apt-get install postgresql-client")).parent]
    spec = importlib.util.find_spec("pgserver")  # found, not imported: it warns on import
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for folder in candidates:
        version = subprocess.run(
            [str(folder / "pg_dump"), "--version"], capture_output=True, text=True, check=False
        ).stdout
        if f" {major}." in version:
            return str(folder)
    pytest.skip(f"no pg_dump of PostgreSQL {major} here")


def run_script(name: str, folder: Path, urls: tuple[str, ...], tools: str) -> None:
    ran = subprocess.run(
        [str(DEPLOY / "backup" / name), str(folder)],
        env={**os.environ, "PAYCORE_DATABASE_URLS": ",".join(urls), "PG_BIN": tools},
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr


async def row_counts(urls: tuple[str, ...]) -> list[dict[str, int]]:
    counts = []
    for url in urls:
        connection = await asyncpg.connect(url)
        try:
            counts.append(
                {
                    table: await connection.fetchval(f'SELECT count(*) FROM "{table}"')
                    for table in sorted(metadata.tables)
                }
            )
        finally:
            await connection.close()
    return counts


async def test_a_restored_backup_is_sound_and_complete(
    migrated: Settings, admin: Paycore, merchant: MerchantFixture, tmp_path: Path
) -> None:
    merchant_id = merchant.merchant.id
    customer = await merchant.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="restore@acme.test", name="Restored")
    )
    product = await merchant.client.subscriptions.CreateProduct(
        subscription_pb2.CreateProductRequest(name="Restored product")
    )
    cash = await account(
        admin, merchant_id, "restore_cash", kind=ledger_pb2.LEDGER_ACCOUNT_TYPE_ASSET
    )
    owed = await account(admin, merchant_id, "restore_owed")
    moved = ledger_pb2.LedgerTransfer(
        id=transfer_id(merchant_id),
        debit_account=cash,
        credit_account=owed,
        amount=1234,
        currency="usd",
        code="payment",
    )
    assert await post(admin, moved) == ["CREATED"]

    tools = tools_folder(await server_major(migrated.database_urls[0]))
    run_script("backup.sh", tmp_path, migrated.database_urls, tools)
    assert sorted(path.name for path in tmp_path.iterdir()) == [  # noqa: ASYNC240 - a listing
        f"shard-{index}.dump" for index in range(len(migrated.database_urls))
    ]
    async with fresh_databases(migrated.database_urls) as restored_urls:
        run_script("restore.sh", tmp_path, restored_urls, tools)
        assert await row_counts(restored_urls) == await row_counts(migrated.database_urls)
        restored = migrated.with_overrides(database_urls=restored_urls)
        platform = build_platform(restored, CollectorRegistry())
        server = await start_server(platform, "127.0.0.1:0")
        target = f"127.0.0.1:{server.port}"
        try:
            async with (
                connect(target, restored.admin_token) as restored_admin,
                connect(target, merchant.merchant.secret_key) as restored_merchant,
            ):
                report = await restored_admin.ledger.CheckIntegrity(
                    ledger_pb2.CheckIntegrityRequest()
                )
                assert report.ok, report
                found = await restored_merchant.accounts.GetMerchant(
                    account_pb2.GetMerchantRequest(id=merchant_id)
                )
                assert found.name == merchant.merchant.name
                assert (
                    await restored_merchant.customers.GetCustomer(
                        customer_pb2.GetCustomerRequest(id=customer.id)
                    )
                ).email == "restore@acme.test"
                assert (
                    await restored_merchant.subscriptions.GetProduct(
                        subscription_pb2.GetProductRequest(id=product.id)
                    )
                ).name == "Restored product"
                got = await restored_admin.ledger.GetTransfer(
                    ledger_pb2.GetTransferRequest(id=moved.id)
                )
                assert got.amount == 1234
        finally:
            await server.stop(1)
            await platform.close()


async def test_the_scripts_take_every_url_form_paycore_takes(
    migrated: Settings, tmp_path: Path
) -> None:
    """PAYCORE_DATABASE_URLS may say postgresql+asyncpg:// (paycore.storage.shards.asyncpg_url):
    the same variable given to the scripts must work, though pg_dump knows only libpq's
    postgresql:// (it took the whole URL for a database name and failed)."""
    as_asyncpg = tuple(
        "postgresql+asyncpg://" + url.partition("://")[2] for url in migrated.database_urls
    )
    tools = tools_folder(await server_major(migrated.database_urls[0]))
    run_script("backup.sh", tmp_path, as_asyncpg, tools)
    async with fresh_databases(migrated.database_urls) as restored_urls:
        restored_as_asyncpg = tuple(
            "postgresql+asyncpg://" + url.partition("://")[2] for url in restored_urls
        )
        run_script("restore.sh", tmp_path, restored_as_asyncpg, tools)
        assert await row_counts(restored_urls) == await row_counts(migrated.database_urls)


async def test_the_scripts_dump_the_embedded_default_without_pg_bin() -> None:
    """deploy/README's Backups lines, run against `make run`'s embedded default (PostgreSQL 16
    from the pgserver wheel) with no PG_BIN: the machine's older pg_dump refuses a newer server,
    so the scripts take the wheel's tools by themselves."""
    from paycore.tools.embedded import start_embedded

    data_dir = Path(tempfile.mkdtemp(prefix="pcbk", dir="/tmp"))  # short: a socket path
    try:
        with start_embedded(data_dir / "e", shard_count=1) as servers:
            (url,) = servers.database_urls
            connection = await asyncpg.connect(url)
            try:
                await connection.execute("CREATE TABLE kept (id text primary key)")
                await connection.execute("INSERT INTO kept VALUES ('pi_1'), ('pi_2')")
                await connection.execute("CREATE DATABASE restored")
            finally:
                await connection.close()
            restored = url.replace("/paycore_0?", "/restored?")
            environment = {k: v for k, v in os.environ.items() if k != "PG_BIN"}
            for script, database in (("backup.sh", url), ("restore.sh", restored)):
                ran = await asyncio.to_thread(
                    subprocess.run,
                    [str(DEPLOY / "backup" / script), str(data_dir / "dumps")],
                    env={**environment, "PAYCORE_DATABASE_URLS": database},
                    check=False,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert ran.returncode == 0, ran.stderr
            connection = await asyncpg.connect(restored)
            try:
                assert await connection.fetchval("SELECT count(*) FROM kept") == 2
            finally:
                await connection.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_a_restore_refuses_a_list_that_does_not_match_the_dumps(
    migrated: Settings, tmp_path: Path
) -> None:
    """A backup of two shards restored with one URL (a shard forgotten in the list) or three:
    the restore says which and restores nothing, instead of exiting 0 with a shard's merchants
    left out of the restored platform."""
    tools = tools_folder(await server_major(migrated.database_urls[0]))
    run_script("backup.sh", tmp_path, migrated.database_urls, tools)
    for count in (1, 3):
        urls = tuple(migrated.database_urls[index % 2] for index in range(count))
        async with fresh_databases(urls) as restored_urls:
            ran = await asyncio.to_thread(
                subprocess.run,
                [str(DEPLOY / "backup" / "restore.sh"), str(tmp_path)],
                env={
                    **os.environ,
                    "PAYCORE_DATABASE_URLS": ",".join(restored_urls),
                    "PG_BIN": tools,
                },
                check=False,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert ran.returncode == 1, ran.stdout
            assert ran.stderr == (
                f"{tmp_path} holds 2 shard dump(s), PAYCORE_DATABASE_URLS names {count}"
                " database(s): one database per dump, in shard order\n"
            ), ran.stderr
            for url in restored_urls:
                connection = await asyncpg.connect(url)
                try:
                    tables = await connection.fetchval(
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                    )
                finally:
                    await connection.close()
                assert tables == 0, url


def compose_backup_steps() -> str:
    """deploy/README's "### Compose" under Backups: its shell blocks."""
    text = (DEPLOY / "README.md").read_text()
    section = text.split("\n### Compose\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, re.DOTALL))


def test_the_compose_backup_names_the_shards_in_order() -> None:
    """The loops' dbN are PAYCORE_DATABASE_URLS' hosts in shard order, the volumes removed are
    theirs, and the dump streams through `exec -T` (no terminal)."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    urls = compose["x-paycore"]["environment"]["PAYCORE_DATABASE_URLS"].split(",")
    hosts = [url.split("@", 1)[1].split(":", 1)[0] for url in urls]
    steps = compose_backup_steps()
    (shards,) = set(re.findall(r"for shard in ([\d ]+); do", steps))
    assert [f"db{shard}" for shard in shards.split()] == hosts
    for host in hosts:
        assert compose["services"][host]["image"].startswith("postgres:")
        assert host in compose["volumes"]
    volumes = re.search(r"docker volume rm (.+)", steps).group(1).split()  # type: ignore[union-attr]
    assert volumes == [f"{compose['name']}_{host}" for host in hosts]
    execs = re.findall(r"exec(?: -T)? db\$shard", steps)
    assert execs == ["exec -T db$shard"] * 2


def in_db_container(command: str, url: str, tools: str, stdin: bytes | None = None) -> bytes:
    """`command` as `docker compose exec -T dbN sh -c` runs it: the container's POSTGRES_USER
    and POSTGRES_DB in its environment, the database `url`'s."""
    database = urlsplit(url)
    ran = subprocess.run(
        ["sh", "-c", command],
        input=stdin,
        capture_output=True,
        env={
            **os.environ,
            "PATH": f"{tools}:{os.environ['PATH']}",
            "PGHOST": database.hostname or "",
            "PGPORT": str(database.port or 5432),
            "POSTGRES_USER": database.username or "",
            "POSTGRES_DB": database.path.removeprefix("/"),
        },
        check=False,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


async def test_the_compose_backup_commands_restore_a_shard(migrated: Settings) -> None:
    """The commands the README runs in the db containers, run here: a dump through stdout
    restores through stdin into an empty database."""
    dump_command, restore_command = re.findall(r"sh -c \\\n\s+'([^']+)'", compose_backup_steps())
    assert dump_command.startswith("pg_dump ") and restore_command.startswith("pg_restore ")
    (source,) = migrated.database_urls[:1]
    tools = tools_folder(await server_major(source))
    async with fresh_databases((source,)) as (restored,):
        dump = await asyncio.to_thread(in_db_container, dump_command, source, tools)
        await asyncio.to_thread(in_db_container, restore_command, restored, tools, dump)
        assert await row_counts((restored,)) == await row_counts((source,))
