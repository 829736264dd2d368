"""Runs a scenario: `concurrency` callers in each of `processes` processes, until the duration
has passed or the requests are spent, each process with its own channels and histogram.

The client needs as much CPU as the server (grpc.aio on one core tops out near the server's
rate), hence several processes. They are spawned (grpc forbids fork after a channel exists),
prepare, report ready, and start together when the parent says so; their histograms merge by
adding counts.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from grpc import aio
from paycore.client import Paycore
from paycore.errors import ConfigurationError
from paycore.tools.bench.credentials import NO_CREDENTIALS, Credentials
from paycore.tools.bench.histogram import LatencyHistogram
from paycore.tools.bench.scenario import Call, Metadata, Scenario, Session

POLL_SECONDS = 0.2
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
"""Channel options that give a channel a TCP connection of its own: by default gRPC shares one
connection among the channels of a process that have the same target and options."""
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    target: str
    concurrency: int
    """Calls in flight at once, over all processes."""

    duration_seconds: float | None
    """How long to send calls; None when `requests` bounds the run instead."""

    requests: int | None
    """How many calls to send, over all processes; None when `duration_seconds` bounds it."""

    processes: int
    connections: int = 1
    """TCP connections per process, the callers spread over them. `serve --workers N` shares
    its port with SO_REUSEPORT, so the kernel spreads connections, not calls, over the workers:
    one connection keeps one worker busy and leaves the others idle."""

    credentials: Credentials = NO_CREDENTIALS
    timeout_seconds: float = 10.0
    """The deadline of each call, and of connecting and preparing."""

    run_id: str = ""

    rate: float | None = None
    """Calls per second over all processes, started on schedule whatever the answers (open
    loop); None sends the next call as soon as a caller is free (closed loop). With a rate, a
    latency runs from the call's scheduled start, so falling behind shows as latency."""

    def __post_init__(self) -> None:
        if self.connections < 1:
            raise ConfigurationError("--connections must be at least 1")
        if self.processes < 1 or self.concurrency < self.processes:
            raise ConfigurationError("--concurrency must be at least --processes (and >= 1)")
        if (self.duration_seconds is None) == (self.requests is None):
            raise ConfigurationError("give either --duration or --requests")
        if self.duration_seconds is not None and self.duration_seconds <= 0:
            raise ConfigurationError("--duration must be positive")
        if self.requests is not None and self.requests < self.processes:
            raise ConfigurationError("--requests must be at least --processes")
        if self.rate is not None and self.rate <= 0:
            raise ConfigurationError("--rate must be positive")

    def concurrency_of(self, process_index: int) -> int:
        return shares(self.concurrency, self.processes)[process_index]

    def requests_of(self, process_index: int) -> int | None:
        if self.requests is None:
            return None
        return shares(self.requests, self.processes)[process_index]


@dataclass
class ProcessResult:
    histogram: LatencyHistogram
    """Latencies of the calls answered OK."""

    errors: Counter[str]
    """Non-OK answers by gRPC status code name."""

    elapsed_ns: int
    """From the start signal to the last answer."""


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` as evenly as possible, larger shares first."""
    share, extra = divmod(total, parts)
    return [share + (1 if index < extra else 0) for index in range(parts)]


async def _now() -> None:
    return None


async def run_process(
    plan: Plan, process_index: int, started: Callable[[], Awaitable[None]] = _now
) -> ProcessResult:
    """One process's part of the plan; `started` returns when the clock should start."""
    clients = [
        Paycore(aio.insecure_channel(plan.target, options=OWN_CONNECTION))
        for _ in range(plan.connections)
    ]
    try:
        for client in clients:
            await until_ready(client.channel, plan)
        calls = [
            await plan.scenario.prepare(session_of(plan, client, process_index))
            for client in clients
        ]
        await started()
        return await _drive(calls, plan, process_index)
    finally:
        for client in clients:
            await client.close()


async def until_ready(channel: aio.Channel, plan: Plan) -> None:
    try:
        await asyncio.wait_for(channel.channel_ready(), plan.timeout_seconds)
    except TimeoutError:
        raise ConfigurationError(f"nothing answers on {plan.target}") from None


def session_of(plan: Plan, client: Paycore, process_index: int) -> Session:
    metadata: Metadata = ()
    if plan.scenario.needs_merchant:
        metadata = (("authorization", f"Bearer {plan.credentials.api_key.reveal()}"),)
    return Session(
        client=client,
        metadata=metadata,
        merchant_id=plan.credentials.merchant_id,
        timeout_seconds=plan.timeout_seconds,
        run_id=plan.run_id,
        process_index=process_index,
    )


class _Budget:
    """Hands out sequence numbers, each with the time its call is due, until the deadline
    passes or the requests are spent. Without a rate every call is due at once."""

    def __init__(
        self, requests: int | None, begin_ns: int, deadline_ns: int | None, rate: float | None
    ) -> None:
        self._requests = requests
        self._begin_ns = begin_ns
        self._deadline_ns = deadline_ns
        self._interval_ns = None if rate is None else int(1e9 / rate)
        self._sequence = 0

    def take(self) -> tuple[int, int] | None:
        now_ns = time.perf_counter_ns()
        if self._requests is not None and self._sequence >= self._requests:
            return None
        due_ns = now_ns
        if self._interval_ns is not None:
            due_ns = self._begin_ns + self._sequence * self._interval_ns
        if self._deadline_ns is not None and max(now_ns, due_ns) >= self._deadline_ns:
            return None
        self._sequence += 1
        return self._sequence, due_ns


async def _drive(calls: list[Call], plan: Plan, process_index: int) -> ProcessResult:
    begin_ns = time.perf_counter_ns()
    deadline_ns = None
    if plan.duration_seconds is not None:
        deadline_ns = begin_ns + int(plan.duration_seconds * 1e9)
    rate = None if plan.rate is None else plan.rate / plan.processes
    budget = _Budget(plan.requests_of(process_index), begin_ns, deadline_ns, rate)
    result = ProcessResult(LatencyHistogram(), Counter(), 0)
    await asyncio.gather(
        *(
            _caller(calls[index % len(calls)], budget, result)
            for index in range(plan.concurrency_of(process_index))
        )
    )
    result.elapsed_ns = time.perf_counter_ns() - begin_ns
    return result


async def _caller(call: Call, budget: _Budget, result: ProcessResult) -> None:
    perf_counter_ns = time.perf_counter_ns
    while (taken := budget.take()) is not None:
        sequence, due_ns = taken
        wait_ns = due_ns - perf_counter_ns()
        if wait_ns > 0:
            await asyncio.sleep(wait_ns / 1e9)
        try:
            await call(sequence)
        except aio.AioRpcError as error:
            result.errors[error.code().name] += 1
        else:
            result.histogram.record(perf_counter_ns() - due_ns)


def run(plan: Plan) -> list[ProcessResult]:
    """Every process's result; with one process the bench runs in this one."""
    if plan.processes == 1:
        return [_run_here(plan, 0, _now)]
    return _run_spawned(plan)


def _run_here(
    plan: Plan, process_index: int, started: Callable[[], Awaitable[None]]
) -> ProcessResult:
    return run_here(run_process(plan, process_index, started))


def run_here(main: Coroutine[Any, Any, T]) -> T:
    """`main`'s result, on a fresh event loop (uvloop where installed, as `paycore serve`)."""
    from paycore.runtime.process import run_async

    results: list[T] = []

    async def keep() -> None:
        results.append(await main)

    run_async(keep())
    return results[0]


def _run_spawned(plan: Plan) -> list[ProcessResult]:
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    start = context.Event()
    children = [
        context.Process(target=_child, args=(plan, index, messages, start), daemon=True)
        for index in range(plan.processes)
    ]
    for child in children:
        child.start()
    try:
        _receive(messages, children, "ready", plan.processes)
        start.set()
        return [
            result for _, result in sorted(_receive(messages, children, "result", plan.processes))
        ]
    finally:
        start.set()  # lets children that are still waiting run out
        for child in children:
            child.join(timeout=plan.timeout_seconds)
            if child.is_alive():
                child.kill()


def _receive(messages: Any, children: list[Any], kind: str, count: int) -> list[tuple[int, Any]]:
    """`count` messages of `kind`; a child's failure, or its death without a word, raises."""
    received: list[tuple[int, Any]] = []
    while len(received) < count:
        try:
            message_kind, index, payload = messages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            dead = [
                index for index, child in enumerate(children) if child.exitcode not in (None, 0)
            ]
            if dead:
                raise RuntimeError(
                    f"bench process {dead[0]} died (exit code {children[dead[0]].exitcode})"
                ) from None
            continue
        if message_kind == "failed":
            configuration, text = payload
            if configuration:
                raise ConfigurationError(text)
            raise RuntimeError(f"bench process {index} failed: {text}")
        if message_kind == kind:
            received.append((index, payload))
    return received


def _child(plan: Plan, process_index: int, messages: Any, start: Any) -> None:
    async def started() -> None:
        messages.put(("ready", process_index, None))
        await asyncio.to_thread(start.wait)

    try:
        result = _run_here(plan, process_index, started)
    except ConfigurationError as error:
        messages.put(("failed", process_index, (True, str(error))))
        return
    except Exception as error:
        messages.put(("failed", process_index, (False, f"{type(error).__name__}: {error}")))
        return
    messages.put(("result", process_index, result))
