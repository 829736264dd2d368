"""`python -m paycore.tools.bench.summary REPORT.json...`: one line per `paycore bench --json`
report (rate, p50/p99, CPU per OK call by process group, pgbench before/after, load); with
`--targets`, the four runs of `scripts/bench_payments.sh --targets` checked against issue 17's
targets (Python client at 8 in flight, ghz closed loop of 32, ghz open loop at 400/s, the
closed loop again with `serve --workers 2`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

CPU_PER_PAYMENT_MS = 3.0
CLOSED_LOOP_PER_SECOND = 500
P99_MS = 100
OPEN_LOOP_PER_SECOND = 400
WORKERS_RATIO = 1.6


def line(report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    cpu = report.get("cpu_ms_per_ok_call") or {}
    shown = ", ".join(f"{group} {ms:.2f}" for group, ms in cpu.items())
    pgbench = report.get("pgbench_tps") or {}
    load = report.get("load_average") or {}
    return (
        f"  {report['ok'] / report['elapsed_seconds']:,.1f} OK/s ({report['ok']} OK,"
        f" errors {report['errors'] or 'none'}), p50 {_ms(latency['p50'])}, p99"
        f" {_ms(latency['p99'])}; CPU ms per payment {shown}"
        f" (served {report.get('cpu_ms_per_ok_call_served', 0):.2f});"
        f" pgbench {_tps(pgbench.get('before'))} / {_tps(pgbench.get('after'))};"
        f" load {load.get('before', 0):.2f} -> {load.get('after', 0):.2f}"
    )


def targets(
    python: dict[str, Any], closed1: dict[str, Any], open1: dict[str, Any], closed2: dict[str, Any]
) -> list[str]:
    cpu = python["cpu_ms_per_ok_call_served"]
    rate1, rate2 = _rate(closed1), _rate(closed2)
    open_rate = _rate(open1)
    return [
        _check(
            f"CPU per payment (server + PostgreSQL + simulator, Python client run): {cpu:.2f} ms",
            cpu <= CPU_PER_PAYMENT_MS,
            f"<= {CPU_PER_PAYMENT_MS} ms",
        ),
        _check(
            f"closed loop of 32 (ghz, one worker): {rate1:,.0f}/s, p99"
            f" {_ms(closed1['latency_ms']['p99'])}",
            rate1 >= CLOSED_LOOP_PER_SECOND and _p99(closed1) <= P99_MS,
            f">= {CLOSED_LOOP_PER_SECOND}/s, p99 <= {P99_MS} ms",
        ),
        _check(
            f"open loop at 400/s (ghz, one worker): {open_rate:,.0f}/s answered OK, p99"
            f" {_ms(open1['latency_ms']['p99'])}",
            open_rate >= OPEN_LOOP_PER_SECOND * 0.98 and _p99(open1) <= P99_MS,
            f"holds 400/s, p99 <= {P99_MS} ms",
        ),
        _check(
            f"serve --workers 2 against one, same ghz closed loop: {rate2:,.0f}/s against"
            f" {rate1:,.0f}/s = {rate2 / max(rate1, 1e-9):.2f}x",
            rate2 >= WORKERS_RATIO * rate1,
            f">= {WORKERS_RATIO}x",
        ),
        workers_ceiling(closed1, os.cpu_count() or 1),
    ]


def workers_ceiling(report: dict[str, Any], cores: int) -> str:
    """How much faster any number of workers could be at the CPU per payment of `report`: the
    machine has `cores`, and the run already kept busy what its processes' CPU per payment
    (server, PostgreSQL, simulator, load generator) times its rate adds up to. That is a lower
    bound of what was busy (PostgreSQL's background processes and the kernel's own work are
    not in it), so the ceiling is an upper bound."""
    per_payment_ms = sum((report.get("cpu_ms_per_ok_call") or {}).values())
    busy = _rate(report) * per_payment_ms / 1000
    ceiling = cores / busy if busy else float("inf")
    return (
        f"  ceiling: the one-worker closed loop kept {busy:.2f} of {cores} cores busy"
        f" ({per_payment_ms:.2f} ms of CPU per payment, load generator included), so more"
        f" workers can reach at most {ceiling:.2f}x of it at that CPU per payment"
    )


def _rate(report: dict[str, Any]) -> float:
    return report["ok"] / report["elapsed_seconds"] if report["elapsed_seconds"] else 0.0


def _p99(report: dict[str, Any]) -> float:
    return report["latency_ms"]["p99"] or float("inf")


def _check(what: str, met: bool, target: str) -> str:
    return f"  {'met    ' if met else 'NOT MET'}  {what} (target {target})"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _tps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} tps"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m paycore.tools.bench.summary")
    parser.add_argument("--targets", action="store_true", help="the four runs of --targets")
    parser.add_argument("reports", nargs="+", type=Path)
    arguments = parser.parse_args()
    reports = [json.loads(path.read_text()) for path in arguments.reports]
    if not arguments.targets:
        print("\n".join(line(report) for report in reports))
        return
    if len(reports) != 4:
        raise SystemExit("--targets: four reports (python, closed1, open1, closed2)")
    print("\n".join([*(line(report) for report in reports), *targets(*reports)]))


if __name__ == "__main__":
    main()
