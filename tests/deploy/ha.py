"""A local primary with a synchronous streaming replica, built with PostgreSQL's own tools
(initdb, pg_basebackup, pg_ctl), and a TCP proxy that plays the part of the `-rw` Service a
failover manager repoints (CloudNativePG's, in deploy/kubernetes/overlays/production)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import reserved_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OWNER = "postgres"  # initdb refuses to run as root


def _as_owner(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", OWNER, "--", *command]
    return list(command)


def _run(*command: str) -> None:
    subprocess.run(_as_owner(*command), check=True, capture_output=True, timeout=60)


@dataclass
class Node:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        log = self.data_dir.parent / f"{self.data_dir.name}.log"
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-w", "start")

    def crash(self) -> None:
        """As a machine dies: no checkpoint, no goodbye to the clients."""
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop")

    def promote(self) -> None:
        _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "promote")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop")


def primary_and_replica(folder: Path) -> tuple[Node, Node]:
    """A primary whose commits wait for the replica (synchronous_standby_names), and that
    replica, streaming; both started. `folder` must be one the owner can enter (pytest's
    tmp_path is private to root: use `owned_folder()`)."""
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip(f"PostgreSQL's tools are not at {PG_BIN} (apt-get install postgresql)")
    # Each node's port is in its configuration before it starts: held until both listen.
    with reserved_port() as primary_port, reserved_port() as replica_port:
        primary = Node(folder / "primary", primary_port)
        replica = Node(folder / "replica", replica_port)
        _start_pair(folder, primary, replica)
    return primary, replica


def _start_pair(folder: Path, primary: Node, replica: Node) -> None:
    _run(str(PG_BIN / "initdb"), "-D", str(primary.data_dir), "-U", "postgres", "--auth=trust")
    settings = {
        "port": primary.port,
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{folder}'",
        "wal_level": "replica",
        "max_wal_senders": 4,
        "synchronous_standby_names": "'replica1'",
        "synchronous_commit": "on",
        "fsync": "off",  # a test's speed; the replica's acknowledgement is what we test
        "max_connections": 100,
    }
    _append(primary.data_dir / "postgresql.conf", settings)
    (primary.data_dir / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        "host replication all 127.0.0.1/32 trust\n"
    )
    primary.start()
    _run(
        str(PG_BIN / "pg_basebackup"),
        "-D",
        str(replica.data_dir),
        "-d",
        f"host=127.0.0.1 port={primary.port} user=postgres application_name=replica1",
        "-R",
        "-X",
        "stream",
    )
    # pg_basebackup copied the primary's settings; once promoted, this node has no standby of
    # its own to wait for (a failover manager would attach the next one).
    _append(
        replica.data_dir / "postgresql.conf",
        {"port": replica.port, "synchronous_standby_names": "''"},
    )
    replica.start()


@contextlib.contextmanager
def owned_folder() -> Iterator[Path]:
    """A fresh folder under /tmp that the PostgreSQL owner may write, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="paycore-ha-", dir="/tmp"))
    os.chmod(folder, 0o755)
    shutil.chown(folder, OWNER)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _append(path: Path, settings: dict[str, object]) -> None:
    with path.open("a") as conf:
        for name, value in settings.items():
            conf.write(f"{name} = {value}\n")


@dataclass
class Proxy:
    """Forwards 127.0.0.1:port to the current target; `switch` drops every connection and
    sends new ones to another server, as a Service's endpoints change on failover."""

    target_port: int
    port: int = 0
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def switch(self, target_port: int) -> None:
        self.target_port = target_port
        for writer in list(self._pipes):
            writer.close()

    async def close(self) -> None:
        self.switch(self.target_port)
        if self._server is not None:
            self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self._pipes.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(writer)
            writer.close()
