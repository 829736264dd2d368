"""ghz as the load generator of `paycore bench <scenario> --ghz PATH`: a Go client costs far
less CPU per call than grpc.aio's, so on a small machine more of it is left to the server.
The scenario prepares its call as for the Python client (`Scenario.ghz`); ghz runs the plan
(concurrency, connections, duration or requests, `--rate` as its `--rps`) and its JSON report,
every call's latency included, becomes the same result as the Python client's.

With `--rate`, ghz starts calls at that rate from at most `--concurrency` workers and times
each from its actual start, not from its schedule: a server that falls behind shows as a rate
below the one asked, rather than as latency."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter
from typing import Any

from grpc import aio
from paycore.client import Paycore
from paycore.errors import ConfigurationError
from paycore.tools.bench.histogram import LatencyHistogram
from paycore.tools.bench.runner import OWN_CONNECTION, Plan, ProcessResult, session_of, until_ready
from paycore.tools.bench.scenario import GhzCall


async def run_ghz(ghz: str, plan: Plan) -> list[ProcessResult]:
    """The plan run by ghz (one process, `plan.connections` connections)."""
    prepare = plan.scenario.ghz
    if prepare is None:
        raise ConfigurationError(f"--ghz: the {plan.scenario.name} scenario has no ghz call")
    client = Paycore(aio.insecure_channel(plan.target, options=OWN_CONNECTION))
    try:
        await until_ready(client.channel, plan)
        call = await prepare(session_of(plan, client, 0))
    finally:
        await client.close()
    process = await asyncio.create_subprocess_exec(
        ghz,
        *ghz_arguments(plan, call),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0 or not stdout:
        raise RuntimeError(f"ghz failed ({process.returncode}): {stderr.decode()[-2000:]}")
    report = json.loads(stdout)
    for message, count in (report.get("errorDistribution") or {}).items():
        print(f"ghz: {count} x {message}", file=sys.stderr)  # what the codes do not say
    return [result_of(report)]


def ghz_arguments(plan: Plan, call: GhzCall) -> list[str]:
    arguments = [
        "--insecure",
        *("--call", call.call),
        *("--data", json.dumps(call.data)),
        *("--metadata", json.dumps(call.metadata)),
        *("--concurrency", str(plan.concurrency)),
        *("--connections", str(plan.connections)),
        *("--timeout", f"{plan.timeout_seconds:g}s"),
        *("--format", "json"),
    ]
    if plan.duration_seconds is not None:
        arguments += ["--duration", f"{plan.duration_seconds:g}s", "--duration-stop", "wait"]
    else:
        arguments += ["--total", str(plan.requests)]
    if plan.rate is not None:
        arguments += ["--rps", f"{plan.rate:g}"]
    return [*arguments, plan.target]


def result_of(report: dict[str, Any]) -> ProcessResult:
    """ghz's JSON report (durations in nanoseconds) as the Python client's result."""
    histogram = LatencyHistogram()
    errors: Counter[str] = Counter()
    for detail in report.get("details") or ():
        status = detail.get("status", "OK")
        if status == "OK":
            histogram.record(int(detail["latency"]))
        else:
            errors[re.sub(r"(?<=[a-z])(?=[A-Z])", "_", status).upper()] += 1  # DeadlineExceeded
    return ProcessResult(histogram, errors, int(report["total"]))
