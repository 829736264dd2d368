"""`paycore`: one console script, a subcommand per process (docs/design.md, "Processes")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from paycore.config import load_settings
from paycore.errors import ConfigurationError
from paycore.runtime.process import configure_logging, run_async

_EVERY_SETTING = "every PAYCORE_* setting, with its default: docs/configuration.md"
# Settings.require_servers()'s.
_REQUIRED = (
    "PAYCORE_DATABASE_URLS, PAYCORE_REDIS_URL, PAYCORE_ADMIN_TOKEN, PAYCORE_KEY_HASH_SECRET,"
    " PAYCORE_VAULT_KEY and PAYCORE_CARD_FINGERPRINT_KEY (required)"
)
# What each process command reads first, in its --help (an operator looks there before docs/).
_SETTINGS = {
    "serve": f"{_REQUIRED}, PAYCORE_GRPC_ADDR, PAYCORE_INTERNAL_GRPC_ADDR,"
    " PAYCORE_METRICS_ADDR (the supervisor's sum with --workers), PAYCORE_PSP_URL",
    "edge": "PAYCORE_HTTP_ADDR (where it listens), PAYCORE_GRPC_ADDR (what it calls, unless"
    " --grpc-target), PAYCORE_EDGE_OPERATOR_ROUTES, PAYCORE_EDGE_METRICS_ADDR",
    "migrate": "PAYCORE_DATABASE_URLS, PAYCORE_SHARD_MAP (the first run only)",
    "dev": "PAYCORE_DATABASE_URLS and PAYCORE_REDIS_URL (both set: those servers, else embedded"
    " ones under PAYCORE_DATA_DIR); it listens on PAYCORE_GRPC_ADDR, PAYCORE_INTERNAL_GRPC_ADDR"
    " (when set), PAYCORE_HTTP_ADDR, PAYCORE_METRICS_ADDR (the worker's and edge's metrics"
    " too) and"
    " PAYCORE_PSP_URL (the simulator)",
    "worker": f"{_REQUIRED}, PAYCORE_PSP_URL, PAYCORE_WORKER_METRICS_ADDR",
}


def _add_process(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    """A process command whose --help names the settings it reads."""
    return commands.add_parser(
        name, help=summary, epilog=f"reads {_SETTINGS[name]}; {_EVERY_SETTING}"
    )


def _serve(arguments: argparse.Namespace) -> None:
    from paycore.processes import serve

    if arguments.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    serve(load_settings(), workers=arguments.workers)


def _migrate(arguments: argparse.Namespace) -> None:
    from paycore.storage.migrate import migrate_deployment

    settings = load_settings()
    if not settings.database_urls:
        raise ConfigurationError("PAYCORE_DATABASE_URLS must be set")
    run_async(migrate_deployment(settings))
    print(f"migrated {len(settings.database_urls)} shard(s)")


def _edge(arguments: argparse.Namespace) -> None:
    from paycore.edge.process import run_edge

    settings = load_settings()
    run_async(
        run_edge(
            settings,
            arguments.grpc_target or settings.grpc_addr,
            arguments.internal_target or settings.internal_grpc_addr,
        )
    )


def _dev(arguments: argparse.Namespace) -> None:
    from paycore.tools.dev import run_dev

    run_dev(load_settings())


def _worker(arguments: argparse.Namespace) -> None:
    from paycore.worker.process import run_worker

    if arguments.concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    run_worker(load_settings(), concurrency=arguments.concurrency, once=arguments.once)


def _bench(arguments: argparse.Namespace) -> None:
    from paycore.tools.bench.command import run_bench

    run_bench(arguments, load_settings())


def _psp(arguments: argparse.Namespace) -> None:
    from paycore.tools.psp.command import run_psp_command

    run_psp_command(arguments, load_settings())


def _fraud(arguments: argparse.Namespace) -> None:
    from paycore.fraud.command import run_fraud

    run_fraud(arguments)


def parser() -> argparse.ArgumentParser:
    from paycore.fraud.command import add_parser as add_fraud_parser
    from paycore.tools.bench.command import add_parser as add_bench_parser
    from paycore.tools.health import add_parser as add_health_parser
    from paycore.tools.psp.command import add_parser as add_psp_parser
    from paycore.tools.shards import add_parser as add_shards_parser

    root = argparse.ArgumentParser(prog="paycore", description="the paycore payment platform")
    commands = root.add_subparsers(dest="command", required=True)
    serve = _add_process(commands, "serve", "serve the gRPC services")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default 1)"
    )
    serve.set_defaults(handler=_serve)
    edge = _add_process(commands, "edge", "serve the REST edge (JSON/HTTP onto gRPC)")
    edge.add_argument(
        "--grpc-target", default="", help="the gRPC server to call (default PAYCORE_GRPC_ADDR)"
    )
    edge.add_argument(
        "--internal-target",
        default="",
        help="where its internal services (reconciliation: the dashboard's discrepancies, the"
        " operator routes) listen, when on a port of their own (default"
        " PAYCORE_INTERNAL_GRPC_ADDR; empty: --grpc-target)",
    )
    edge.set_defaults(handler=_edge)
    _add_process(commands, "migrate", "migrate every shard to the newest schema").set_defaults(
        handler=_migrate
    )
    _add_process(
        commands, "dev", "everything on the embedded default (no servers needed)"
    ).set_defaults(handler=_dev)
    worker = _add_process(commands, "worker", "run the background jobs on every shard")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="loops per job and shard (default 1)"
    )
    worker.add_argument("--once", action="store_true", help="drain due work once, then exit")
    worker.set_defaults(handler=_worker)
    add_bench_parser(commands, _bench)
    add_psp_parser(commands, _psp)
    add_fraud_parser(commands, _fraud)
    add_health_parser(commands)
    add_shards_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    try:
        configure_logging(load_settings().log_level)
        arguments.handler(arguments)
    except ConfigurationError as error:
        print(f"paycore: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        # Ctrl-C before the command's own handler is up (`paycore dev` starting): what it
        # started was stopped on the way here; the shell's code for SIGINT, no traceback.
        print("paycore: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
