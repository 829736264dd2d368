"""Charges per second the PSP simulator answers: `python scripts/psp_bench.py --url URL`.

Sends POST /v1/charges (capture=true, the succeeding card, a new key each) through PspClient
from `--processes` client processes with `--concurrency` requests in flight in all, for
`--seconds`, and prints requests/s and latency percentiles. Start the simulator first, e.g.
`paycore psp --addr 127.0.0.1:8091 --data-dir /tmp/psp-bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import time

from paycore.psp.client import CardDetails, PspClient
from paycore.secret import Secret
from paycore.tools.psp.cards import CARD_SUCCEEDS

CARD = CardDetails(Secret(CARD_SUCCEEDS), exp_month=12, exp_year=2040, cvc=Secret("123"))


async def _load(url: str, concurrency: int, seconds: float) -> list[float]:
    client = PspClient(url, timeout_seconds=10, max_connections=concurrency)
    prefix = secrets.token_hex(6)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker(worker_id: int) -> None:
        count = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            result = await client.charge(
                idempotency_key=f"bench-{prefix}-{worker_id}-{count}",
                merchant="acct_bench",
                reference=f"pord_{worker_id}_{count}",
                amount=1000,
                currency="usd",
                card=CARD,
                capture=True,
            )
            assert result.status == "captured"
            latencies.append(time.monotonic() - started)
            count += 1

    try:
        await asyncio.gather(*(worker(index) for index in range(concurrency)))
    finally:
        await client.close()
    return latencies


def _process(url: str, concurrency: int, seconds: float) -> list[float]:
    import uvloop

    return uvloop.run(_load(url, concurrency, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8091")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    per_process = max(1, arguments.concurrency // arguments.processes)
    started = time.monotonic()
    with multiprocessing.Pool(arguments.processes) as pool:
        parts = pool.starmap(
            _process, [(arguments.url, per_process, arguments.seconds)] * arguments.processes
        )
    elapsed = time.monotonic() - started
    latencies = sorted(latency for part in parts for latency in part)
    count = len(latencies)

    def percentile(fraction: float) -> float:
        return latencies[min(count - 1, int(count * fraction))] * 1000

    print(
        f"{count} charges in {elapsed:.1f} s: {count / arguments.seconds:.0f}/s;"
        f" latency p50 {percentile(0.5):.1f} ms, p99 {percentile(0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
