"""The bench's answer: the processes' results merged, as text for people or JSON for tools."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paycore.tools.bench.histogram import LatencyHistogram
from paycore.tools.bench.machine import Machine
from paycore.tools.bench.runner import Plan, ProcessResult

PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Report:
    scenario: str
    method: str
    target: str
    processes: int
    concurrency: int
    elapsed_seconds: float
    """The longest process's time from the start signal to its last answer."""

    latency: LatencyHistogram
    """Latencies of the calls answered OK."""

    errors: Counter[str]
    """Non-OK answers by gRPC status code name."""

    rate: float | None = None
    """The open-loop rate asked for (calls/s), None for a closed loop."""

    machine: Machine | None = None
    """CPU by process group (`--server-pid`, `--psp-pid`, `--postgres`, the client), pgbench
    (`--pgbench`) and the load average, around the calls."""

    @property
    def ok(self) -> int:
        return self.latency.count

    @property
    def requests(self) -> int:
        return self.ok + self.errors.total()

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def latency_ms(self) -> dict[str, float | None]:
        latency, answered = self.latency, bool(self.ok)
        values: dict[str, float | None] = {
            "min": latency.min_ns if answered else None,
            "mean": latency.mean_ns(),
        }
        values.update({f"p{percent}": latency.percentile_ns(percent) for percent in PERCENTILES})
        values["max"] = latency.max_ns if answered else None
        return {name: _ms(value) for name, value in values.items()}

    def to_json(self) -> dict[str, Any]:
        answer = {
            "scenario": self.scenario,
            "method": self.method,
            "target": self.target,
            "processes": self.processes,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "requests": self.requests,
            "ok": self.ok,
            "errors": dict(sorted(self.errors.items())),
            "requests_per_second": round(self.requests_per_second, 1),
            "latency_ms": self.latency_ms(),
        }
        if self.machine is not None:
            answer |= self.machine.to_json(self.ok)
            if self.machine.server_seconds_by_pid:  # --server-pid
                answer["server_cpu_ms_per_call"] = {
                    str(pid): round(seconds / max(self.ok, 1) * 1e3, 3)
                    for pid, seconds in self.machine.server_seconds_by_pid.items()
                }
        return answer

    def to_text(self) -> str:
        errors = ", ".join(f"{code} {count}" for code, count in sorted(self.errors.items()))
        latency = "  ".join(
            f"{name} {'-' if value is None else f'{value:.2f}'}"
            for name, value in self.latency_ms().items()
        )
        return "\n".join(
            (
                f"paycore bench {self.scenario}: {self.method} on {self.target}",
                f"  {self.processes} process(es), {self.concurrency} calls in flight"
                + (f" at most, started at {self.rate:g}/s" if self.rate else "")
                + f", {self.elapsed_seconds:.2f} s",
                f"  requests    {self.requests} ({self.ok} OK"
                + (f"; errors: {errors})" if errors else ", no errors)"),
                f"  throughput  {self.requests_per_second:.1f} requests/s",
                f"  latency ms  {latency}  (OK calls)",
                *(self.machine.lines(self.ok) if self.machine is not None else ()),
            )
        )


def merge(plan: Plan, results: Sequence[ProcessResult]) -> Report:
    latency = LatencyHistogram()
    errors: Counter[str] = Counter()
    for result in results:
        latency.merge(result.histogram)
        errors.update(result.errors)
    return Report(
        scenario=plan.scenario.name,
        method=plan.scenario.method,
        target=plan.target,
        processes=plan.processes,
        concurrency=plan.concurrency,
        elapsed_seconds=max(result.elapsed_ns for result in results) / 1e9,
        latency=latency,
        errors=errors,
        rate=plan.rate,
    )


def _ms(value_ns: float | None) -> float | None:
    return None if value_ns is None else round(value_ns / 1e6, 3)
