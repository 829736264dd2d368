"""`paycore bench` against a real server (rate limits off, as a benchmark server runs)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from paycore.client import Paycore
from paycore.config import Settings
from paycore.errors import ConfigurationError
from paycore.secret import Secret
from paycore.tools.bench import Plan, accounts, health, merge, run, run_process
from paycore.tools.bench.credentials import Credentials, credentials_for
from paycore.tools.bench.summary import workers_ceiling

from tests.helpers import create_merchant, serving


@pytest_asyncio.fixture(scope="module")
async def unlimited_target(migrated: Settings) -> AsyncIterator[str]:
    unlimited = migrated.with_overrides(
        rate_limits_per_second={"payments": 0, "subscriptions": 0, "other": 0},
        auth_failure_burst=0,  # wrong keys are counted, not throttled (issue 23, item 4)
    )
    async with serving(unlimited) as target:
        yield target


async def _bench_json(settings: Settings, *arguments: str) -> dict[str, Any]:
    """`paycore bench ... --json` as a subprocess (an own process: grpc forbids a second
    event loop here), with the tests' admin token and shards."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "paycore.cli", "bench", *arguments, "--json"],
        env={
            **{key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")},
            "PAYCORE_ADMIN_TOKEN": settings.admin_token,
            "PAYCORE_DATABASE_URLS": ",".join(settings.database_urls),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


async def test_server_pid_and_postgres_add_cpu_per_call_by_process_group(
    unlimited_target: str, settings: Settings
) -> None:
    # The server runs in this process (`serving`), so its CPU is this process's.
    report = await _bench_json(
        settings,
        *("accounts", "--target", unlimited_target, "--requests", "200", "--concurrency", "4"),
        *("--server-pid", str(os.getpid()), "--postgres"),
    )
    assert list(report["server_cpu_ms_per_call"]) == [str(os.getpid())]
    assert 0 < report["server_cpu_ms_per_call"][str(os.getpid())] < 100
    # By process group, the shard's PostgreSQL backends (GetMerchant reads there) included.
    cpu = report["cpu_ms_per_ok_call"]
    assert list(cpu) == ["server", "postgres", "client"]
    assert 0 < cpu["server"] < 100
    assert 0 < cpu["client"] < 100
    assert cpu["postgres"] >= 0  # the shard's backends, read from /proc
    assert report["processes"]["postgres"] >= 1
    assert report["cpu_ms_per_ok_call_served"] == pytest.approx(
        cpu["server"] + cpu["postgres"], abs=0.01
    )
    assert report["load_average"]["before"] >= 0


async def test_the_command_reports_rate_and_latency_as_json(
    unlimited_target: str, settings: Settings
) -> None:
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PAYCORE_")},
        "PAYCORE_ADMIN_TOKEN": settings.admin_token,
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "paycore.cli", "bench", "accounts", "--json"),
        *("--target", unlimited_target, "--duration", "1", "--concurrency", "4"),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    report = json.loads(stdout)
    assert report.keys() == {
        *("scenario", "method", "target", "processes", "concurrency", "rate", "elapsed_seconds"),
        *("requests", "ok", "errors", "requests_per_second", "latency_ms"),
    }
    assert report["method"] == "/paycore.v1.AccountService/GetMerchant"
    assert (report["processes"], report["concurrency"], report["rate"]) == (1, 4, None)
    assert report["requests"] > 0
    assert report["ok"] == report["requests"]
    assert report["errors"] == {}
    assert 0.9 <= report["elapsed_seconds"] < 5
    assert report["requests_per_second"] > 0
    latency = report["latency_ms"]
    assert list(latency) == ["min", "mean", "p50", "p90", "p99", "max"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"]
    assert latency["p99"] <= latency["max"]


async def test_non_ok_answers_are_counted_by_code(unlimited_target: str) -> None:
    wrong_key = Credentials(Secret("sk_test_" + "0" * 54), "acct_0000000000000000000000")
    plan = Plan(
        scenario=accounts.SCENARIO,
        target=unlimited_target,
        concurrency=4,
        duration_seconds=None,
        requests=40,
        processes=1,
        credentials=wrong_key,
    )
    report = merge(plan, [await run_process(plan, 0)])
    assert report.errors == {"UNAUTHENTICATED": 40}
    assert report.ok == 0
    assert report.requests == 40
    assert report.latency_ms()["p50"] is None
    assert "UNAUTHENTICATED 40" in report.to_text()


@pytest.mark.slow
async def test_processes_split_the_requests_and_their_histograms_merge(
    unlimited_target: str, admin: Paycore
) -> None:
    merchant = await create_merchant(admin, unlimited_target)
    await merchant.client.close()
    plan = Plan(
        scenario=accounts.SCENARIO,
        target=unlimited_target,
        concurrency=4,
        duration_seconds=None,
        requests=101,
        processes=2,
        connections=2,
        credentials=Credentials(Secret(merchant.merchant.secret_key), merchant.merchant.id),
    )
    results = await asyncio.to_thread(run, plan)
    assert sorted(result.histogram.count for result in results) == [50, 51]
    report = merge(plan, results)
    assert (report.requests, report.ok, report.errors) == (101, 101, {})


async def test_a_scenario_without_a_merchant_needs_no_credentials(unlimited_target: str) -> None:
    plan = Plan(
        scenario=health.SCENARIO,
        target=unlimited_target,
        concurrency=2,
        duration_seconds=None,
        requests=10,
        processes=1,
    )
    report = merge(plan, [await run_process(plan, 0)])
    assert (report.ok, report.errors) == (10, {})


async def test_a_merchant_scenario_without_a_key_or_admin_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="--admin-token"):
        await credentials_for(
            accounts.SCENARIO,
            "127.0.0.1:1",
            api_key="",
            merchant_id="",
            admin_token="",
            timeout_seconds=1,
        )


def test_a_plan_needs_a_bound_and_a_caller_per_process() -> None:
    with pytest.raises(ConfigurationError, match="--duration or --requests"):
        Plan(health.SCENARIO, "127.0.0.1:1", 4, None, None, 1)
    with pytest.raises(ConfigurationError, match="--concurrency"):
        Plan(health.SCENARIO, "127.0.0.1:1", 1, 1.0, None, 2)


async def test_an_open_loop_starts_calls_at_the_rate_asked(unlimited_target: str) -> None:
    plan = Plan(health.SCENARIO, unlimited_target, 8, 1.0, None, 1, rate=50.0)

    report = merge(plan, [await run_process(plan, 0)])

    assert 45 <= report.requests <= 51  # one second at 50/s, whatever the server could do
    assert report.rate == 50.0
    assert "started at 50/s" in report.to_text()


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        Plan(health.SCENARIO, "127.0.0.1:1", 1, 1.0, None, 1, rate=0.0)


_ROOT = Path(__file__).resolve().parents[2]
GHZ = next(  # as scripts/bench_payments.sh finds it: $PAYCORE_GHZ, or the machine's shared copy
    (
        path
        for path in (
            Path(os.environ.get("PAYCORE_GHZ", "/nonexistent")),
            _ROOT.parent / "shared" / "tools" / "ghz",
            _ROOT.parent.parent / "shared" / "tools" / "ghz",
        )
        if path.exists()
    ),
    Path("/nonexistent"),
)


@pytest.mark.skipif(not GHZ.exists(), reason="no ghz at ../shared/tools/ghz")
async def test_ghz_runs_the_plan_and_its_latencies_make_the_report(
    unlimited_target: str, settings: Settings
) -> None:
    report = await _bench_json(
        settings,
        *("health", "--target", unlimited_target, "--requests", "300", "--concurrency", "6"),
        *("--connections", "2", "--ghz", str(GHZ)),
    )
    assert (report["requests"], report["ok"], report["errors"]) == (300, 300, {})
    latency = report["latency_ms"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p99"] <= latency["max"]
    assert report["cpu_ms_per_ok_call"]["client"] > 0  # ghz, a waited-for child


def test_the_workers_ceiling_is_the_machines_cores_over_what_one_worker_kept_busy() -> None:
    # 150 payments/s at 10 ms of CPU each (every process) keep 1.5 cores busy: on 2 cores,
    # more workers can add at most a third.
    report = {
        "ok": 1500,
        "elapsed_seconds": 10.0,
        "cpu_ms_per_ok_call": {"server": 6.0, "postgres": 3.0, "psp": 0.5, "client": 0.5},
    }

    shown = workers_ceiling(report, cores=2)

    assert "kept 1.50 of 2 cores busy" in shown
    assert "(10.00 ms of CPU per payment" in shown
    assert "at most 1.33x" in shown
