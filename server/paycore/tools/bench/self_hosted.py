"""What every self-hosted bench (`paycore bench ledger|fraud|payouts|webhooks|reconciliation`)
shares: the servers it defaults to, the ports its own servers listen on, and running it as
`python -m paycore.tools.bench.<name>`."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from paycore.tools.bench.runner import run_here

AddArguments = Callable[[argparse.ArgumentParser, str, str], None]
RunFromArguments = Callable[[argparse.ArgumentParser, argparse.Namespace], None]


def default_urls() -> tuple[str, str]:
    """(the first of PAYCORE_DATABASE_URLS, PAYCORE_REDIS_URL), "" where unset."""
    database_url = os.environ.get("PAYCORE_DATABASE_URLS", "").split(",")[0]
    return database_url, os.environ.get("PAYCORE_REDIS_URL", "")


def add_server_arguments(
    parser: argparse.ArgumentParser, database_url: str, redis_url: str | None
) -> None:
    """The options every self-hosted bench has: the PostgreSQL server it creates its databases
    on, the Redis server (None: the bench needs none), and skipping pgbench."""
    parser.add_argument(
        "--database-url",
        default=database_url or None,
        help="a PostgreSQL server where the bench may create and drop databases"
        " (default: the first of PAYCORE_DATABASE_URLS)",
    )
    if redis_url is not None:
        parser.add_argument("--redis-url", default=redis_url, help="default: PAYCORE_REDIS_URL")
    parser.add_argument("--no-pgbench", action="store_true", help="skip pgbench's TPC-B")


BENCH_PORTS = "PAYCORE_BENCH_PORTS"
DEFAULT_PORTS = "29100-29199"
"""Where a bench's own servers listen by default (its PSP simulator, webhook receiver, worker
metrics, ledger server): below the kernel's ephemeral range (32768-60999 on Linux), from which
the OS hands ports to every outgoing connection and to `:0` binds, so a bench never takes a
port another program was just given, nor the other way round."""
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORTS_PER_RANGE = 100
"""A range given by its first port alone: that many ports."""


@dataclass
class Ports:
    """The ports `first`..`last` a bench's own servers take: each the first one free now and
    not given before."""

    first: int
    last: int
    given: set[int] = field(default_factory=set)

    def take(self, host: str = "127.0.0.1") -> int:
        for port in range(self.first, self.last + 1):
            if port not in self.given and _bindable(host, port):
                self.given.add(port)
                return port
        raise RuntimeError(
            f"no free port in {self.first}-{self.last}: choose others with --ports or {BENCH_PORTS}"
        )

    def address(self, host: str = "127.0.0.1") -> str:
        return f"{host}:{self.take(host)}"


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral ports (Linux's file; its default 32768-60999 elsewhere)."""
    try:
        low, high = EPHEMERAL_RANGE_FILE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def ports_argument(text: str) -> Ports:
    """--ports FIRST-LAST (or FIRST: PORTS_PER_RANGE ports from it), outside the kernel's
    ephemeral range; argparse names --ports in the error otherwise."""
    first_text, _, last_text = text.strip().partition("-")
    try:
        first = int(first_text)
        last = int(last_text) if last_text else first + PORTS_PER_RANGE - 1
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FIRST-LAST (e.g. {DEFAULT_PORTS})"
        ) from error
    if not 1024 <= first <= last <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: ports are 1024..65535, first <= last")
    low, high = ephemeral_range()
    if first <= high and last >= low:
        raise argparse.ArgumentTypeError(
            f"{text!r} overlaps the kernel's ephemeral ports {low}-{high}, which any connection"
            " may be given: choose ports outside them"
        )
    return Ports(first, last)


def default_ports() -> Ports:
    return ports_argument(os.environ.get(BENCH_PORTS, DEFAULT_PORTS))


def add_ports_argument(parser: argparse.ArgumentParser) -> None:
    """--ports: where the bench's own servers listen (default: PAYCORE_BENCH_PORTS, else
    DEFAULT_PORTS)."""
    parser.add_argument(
        "--ports",
        type=ports_argument,
        default=os.environ.get(BENCH_PORTS, DEFAULT_PORTS),
        metavar="FIRST-LAST",
        help="ports the bench's own servers (simulator, receiver, metrics) listen on, outside"
        f" the kernel's ephemeral range (default: {BENCH_PORTS}, else {DEFAULT_PORTS})",
    )


def add_duration_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """--duration, 10 s by default: the bench's `duration_seconds`."""
    parser.add_argument(
        "--duration",
        dest="duration_seconds",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help=f"seconds {what} (10)",
    )


def require_servers(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Exits with a usage error unless the servers `add_server_arguments` asked for are named."""
    if not arguments.database_url:
        parser.error("--database-url (or PAYCORE_DATABASE_URLS)")
    if getattr(arguments, "redis_url", None) == "":
        parser.error("--redis-url (or PAYCORE_REDIS_URL)")


class Figures(Protocol):
    def lines(self) -> list[str]: ...


def run_and_print(
    parser: argparse.ArgumentParser,
    arguments: argparse.Namespace,
    bench: Callable[..., Coroutine[Any, Any, Figures]],
    options: tuple[str, ...],
) -> None:
    """Runs `bench` (on uvloop, as `paycore serve` runs) on the servers `arguments` name, with
    its `options` (each an argument's dest and the bench's keyword), and prints its figures."""
    require_servers(parser, arguments)
    figures = run_here(
        bench(
            arguments.database_url,
            arguments.redis_url,
            with_pgbench=not arguments.no_pgbench,
            **{option: getattr(arguments, option) for option in options},
        )
    )
    print("\n".join(figures.lines()))


def module_main(
    module: str, description: str | None, add: AddArguments, run: RunFromArguments
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    add(parser, *default_urls())
    run(parser, parser.parse_args())
