"""What every self-hosted bench (`paycore bench ledger|fraud|payouts|webhooks|reconciliation`)
shares: the servers it defaults to, and running it as `python -m paycore.tools.bench.<name>`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Coroutine
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
