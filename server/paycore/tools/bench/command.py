"""`paycore bench <scenario>`: the options, and the run from them to a printed report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType

from paycore.config import Settings
from paycore.tools.bench import fraud, ledger, payouts, reconciliation, webhooks
from paycore.tools.bench.catalogue import SCENARIOS, scenario_named
from paycore.tools.bench.credentials import credentials_for
from paycore.tools.bench.ghz import run_ghz
from paycore.tools.bench.machine import Meter, Watch
from paycore.tools.bench.report import Report, merge
from paycore.tools.bench.runner import Plan, run, run_here, run_process
from paycore.tools.bench.self_hosted import AddArguments, RunFromArguments, default_urls

Handler = Callable[[argparse.Namespace], None]


@dataclass(frozen=True)
class SelfHostedBench:
    """A bench with its own databases and servers (paycore.tools.bench.self_hosted)."""

    summary: str
    description: str | None
    add_arguments: AddArguments
    run_from_arguments: RunFromArguments

    @classmethod
    def of(cls, module: ModuleType, summary: str) -> SelfHostedBench:
        return cls(summary, module.__doc__, module.add_arguments, module.run_from_arguments)


SELF_HOSTED: dict[str, SelfHostedBench] = {
    "ledger": SelfHostedBench.of(
        ledger,
        "self-hosted ledger benchmark: its own databases and server; transfers/s in batches"
        " of 1,000 and as concurrent single calls (p50/p99), beside pgbench's TPC-B",
    ),
    "fraud": SelfHostedBench.of(
        fraud,
        "self-hosted fraud scoring benchmark: what FraudService.score_payment adds to a"
        " payment (p50/p99), in-process, with and without Redis",
    ),
    "payouts": SelfHostedBench.of(
        payouts,
        "self-hosted pay-out benchmark: the availability job's balance transactions/s and the"
        " time to create and send the daily payouts of 10,000 merchants, beside pgbench's TPC-B",
    ),
    "webhooks": SelfHostedBench.of(
        webhooks,
        "self-hosted webhook benchmark: its own databases, `paycore worker` and a local"
        " receiver; deliveries/s and the delay from an event's commit to its first attempt",
    ),
    "reconciliation": SelfHostedBench.of(
        reconciliation,
        "self-hosted reconciliation benchmark: a day's settlement report of 1,000,000 lines"
        " reconciled end to end, beside pgbench's TPC-B",
    ),
}


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], handler: Handler
) -> None:
    bench = commands.add_parser(
        "bench",
        help="load-test a running server over gRPC",
        description="Calls a running paycore server as fast as `--concurrency` allows and reports"
        " requests/s, latency percentiles and non-OK answers by gRPC code.",
    )
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--target", help="host:port (default: PAYCORE_GRPC_ADDR)")
    options.add_argument(
        "--concurrency", type=int, default=16, help="calls in flight, over all processes (16)"
    )
    until = options.add_mutually_exclusive_group()
    until.add_argument("--duration", type=float, metavar="SECONDS", help="how long (default 10)")
    until.add_argument("--requests", type=int, metavar="N", help="how many calls, in all")
    options.add_argument(
        "--processes", type=int, default=1, help="client processes; their histograms merge (1)"
    )
    options.add_argument(
        "--rate",
        type=float,
        metavar="PER_SECOND",
        help="start calls at this rate whatever the answers (open loop; at most --concurrency in"
        " flight); latency counts from each call's scheduled start",
    )
    options.add_argument(
        "--connections",
        type=int,
        default=1,
        help="TCP connections per process (1); `serve --workers N` balances connections",
    )
    options.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="deadline per call (10)"
    )
    options.add_argument("--json", action="store_true", help="print the report as JSON")
    options.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        metavar="PID",
        help="a `paycore serve` process on this machine (repeatable), with its descendants"
        " (`--workers N`): the report adds its CPU per OK call, read from /proc",
    )
    options.add_argument(
        "--psp-pid", type=int, metavar="PID", help="the PSP simulator: its CPU per OK call"
    )
    options.add_argument(
        "--postgres",
        action="store_true",
        help="add the CPU per OK call of the PostgreSQL backends serving PAYCORE_DATABASE_URLS"
        " (PostgreSQL on this machine)",
    )
    options.add_argument(
        "--pgbench",
        metavar="URL",
        help="run pgbench's TPC-B (-c 16 -j 2 -T 10) right before and right after, in a scratch"
        " database of the PostgreSQL server at URL, so that the run's figures compare across a"
        " noisy machine",
    )
    options.add_argument(
        "--ghz",
        metavar="PATH",
        help="ghz as the load generator instead of the Python client (one process; `--rate`"
        " becomes its --rps); its CPU is reported as the client's",
    )
    options.add_argument("--api-key", help="a secret key (default: PAYCORE_BENCH_API_KEY)")
    options.add_argument(
        "--merchant", help="the key's merchant, acct_... (default: PAYCORE_BENCH_MERCHANT_ID)"
    )
    options.add_argument(
        "--admin-token",
        help="without a key, create a merchant with this token (default: PAYCORE_ADMIN_TOKEN)",
    )
    scenarios = bench.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for scenario in SCENARIOS:
        scenarios.add_parser(
            scenario.name, parents=[options], help=scenario.summary, description=scenario.summary
        ).set_defaults(handler=handler)
    database_url, redis_url = default_urls()
    for name, self_hosted in SELF_HOSTED.items():
        parser = scenarios.add_parser(
            name,
            help=self_hosted.summary,
            description=self_hosted.description,
            formatter_class=_Verbatim,
        )
        self_hosted.add_arguments(parser, database_url, redis_url)
        parser.set_defaults(handler=handler, self_hosted_parser=parser)


class _Verbatim(argparse.RawDescriptionHelpFormatter):
    pass


def run_bench(arguments: argparse.Namespace, settings: Settings) -> None:
    if arguments.scenario in SELF_HOSTED:
        # Not a Scenario: it hosts its own servers rather than calling --target.
        SELF_HOSTED[arguments.scenario].run_from_arguments(arguments.self_hosted_parser, arguments)
        return
    _run_scenario(arguments, settings)


def _run_scenario(arguments: argparse.Namespace, settings: Settings) -> None:

    scenario = scenario_named(arguments.scenario)
    target = arguments.target or settings.grpc_addr
    duration = arguments.duration
    if duration is None and arguments.requests is None:
        duration = 10.0
    plan = Plan(  # checks the numbers before a merchant is created for nothing
        scenario=scenario,
        target=target,
        concurrency=arguments.concurrency,
        duration_seconds=duration,
        requests=arguments.requests,
        processes=arguments.processes,
        connections=arguments.connections,
        timeout_seconds=arguments.timeout,
        run_id=secrets.token_hex(4),
        rate=arguments.rate,
    )
    credentials = run_here(
        credentials_for(
            scenario,
            target,
            api_key=arguments.api_key or os.environ.get("PAYCORE_BENCH_API_KEY", ""),
            merchant_id=arguments.merchant or os.environ.get("PAYCORE_BENCH_MERCHANT_ID", ""),
            admin_token=arguments.admin_token or settings.admin_token,
            timeout_seconds=arguments.timeout,
        )
    )
    plan = replace(plan, credentials=credentials)
    watch = Watch(
        server_pids=tuple(arguments.server_pid),
        psp_pid=arguments.psp_pid,
        database_urls=settings.database_urls if arguments.postgres else (),
        pgbench_url=arguments.pgbench,
    )
    report = run_here(_measured(plan, watch, arguments.ghz))
    print(json.dumps(report.to_json(), indent=2) if arguments.json else report.to_text())


async def _measured(plan: Plan, watch: Watch, ghz: str | None) -> Report:
    meter = Meter(watch)
    await meter.pgbench_before()
    await meter.start()
    if ghz is not None:
        results = await run_ghz(ghz, plan)
    elif plan.processes == 1:
        results = [await run_process(plan, 0)]
    else:
        results = await asyncio.to_thread(run, plan)
    report = merge(plan, results)
    machine = await meter.stop()
    if not (watch.asked or ghz):  # the report as it was: only what the calls did
        return report
    return replace(report, machine=machine)
