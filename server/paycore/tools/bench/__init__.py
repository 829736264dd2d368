"""`paycore bench`: a load generator over gRPC that reports requests/s, latency percentiles
(p50/p90/p99/max, from `time.perf_counter_ns`) and every non-OK answer counted by gRPC code.

    paycore bench accounts --target 127.0.0.1:50051 --concurrency 32 --processes 2 --duration 10

How it is built, one module each:

    scenario.py    Scenario (name, method, needs_merchant, prepare) and the Session it gets
    catalogue.py   SCENARIOS: the one list of scenarios the command offers
    accounts.py    `accounts`: AccountService.GetMerchant (auth + routing + a read)
    health.py      `health`: grpc.health.v1 Check (the bare server floor)
    credentials.py the API key: given, or a merchant created with the admin token
    runner.py      Plan -> callers in each of --processes spawned processes -> ProcessResult
    histogram.py   fixed log-linear buckets, so the processes' histograms merge exactly
    report.py      the merged Report, as text or --json
    command.py     the argparse options and `run_bench`
    ledger.py      not a scenario: `python -m paycore.tools.bench.ledger`, a self-contained ledger
                   benchmark (its own databases and in-process server, beside pgbench)

Adding a scenario (say `paycore bench transfers`) is one module and one line:

1. `server/paycore/tools/bench/transfers.py` defines `async def prepare(session: Session) -> Call`,
   which runs once per connection of each bench process before the clock starts (create the
   accounts it posts to, build the requests) and returns the call, `async def call(sequence:
   int)`, making one request with `metadata=session.metadata` (plus, for mutations, an
   idempotency key unique per run: `f"bench-{session.run_id}-{session.process_index}-{sequence}"`)
   and `timeout=session.timeout_seconds`; and `SCENARIO = Scenario(name="transfers", summary=...,
   method="/paycore.v1.LedgerService/...", needs_merchant=True, prepare=prepare)`.
2. `catalogue.py` lists `transfers.SCENARIO` in SCENARIOS. The subcommand, its options and the
   report come from there; nothing else changes.

A non-OK answer raises `grpc.aio.AioRpcError` from the call and is counted, not hidden; any
other exception is a bug in the scenario and stops the bench.
"""

from paycore.tools.bench.catalogue import SCENARIOS
from paycore.tools.bench.report import Report, merge
from paycore.tools.bench.runner import Plan, ProcessResult, run, run_process
from paycore.tools.bench.scenario import Call, Scenario, Session

__all__ = [
    "SCENARIOS",
    "Call",
    "Plan",
    "ProcessResult",
    "Report",
    "Scenario",
    "Session",
    "merge",
    "run",
    "run_process",
]
