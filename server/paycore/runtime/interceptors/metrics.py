from __future__ import annotations

import time
from functools import partial
from typing import Any

import grpc
from grpc import aio
from paycore.runtime.interceptors.base import (
    Behavior,
    Context,
    Handler,
    WrappingInterceptor,
    wrap_unary,
)
from paycore.runtime.metrics import GrpcMetrics


class MetricsInterceptor(WrappingInterceptor):
    """Counts and times every unary call, health and reflection included."""

    def __init__(self, metrics: GrpcMetrics) -> None:
        super().__init__()
        self._metrics = metrics

    def wrap(self, handler: Handler | None, method: str) -> Handler | None:
        _, service, name = method.split("/")
        observed = _MethodMetrics(self._metrics, ("unary", service, name))
        return wrap_unary(handler, partial(_observe, observed))


class _MethodMetrics:
    """One method's labelled series, looked up once: `.labels(...)` hashes its labels and takes
    the metric's lock on every call (about 5 us of the 8 us the three metrics cost a call)."""

    __slots__ = ("_handled", "_handled_by_code", "_labels", "handling_seconds", "started")

    def __init__(self, metrics: GrpcMetrics, labels: tuple[str, str, str]) -> None:
        self._labels = labels
        self._handled = metrics.handled
        self._handled_by_code: dict[str, Any] = {}
        self.started = metrics.started.labels(*labels)
        self.handling_seconds = metrics.handling_seconds.labels(*labels)

    def handled(self, code_name: str) -> Any:
        series = self._handled_by_code.get(code_name)
        if series is None:
            series = self._handled_by_code[code_name] = self._handled.labels(
                *self._labels, code_name
            )
        return series


async def _observe(
    observed: _MethodMetrics, behavior: Behavior, request: Any, context: Context
) -> Any:
    observed.started.inc()
    started = time.perf_counter()
    code = grpc.StatusCode.UNKNOWN
    try:
        response = await behavior(request, context)
        code = context.code() or grpc.StatusCode.OK
        return response
    except aio.AbortError:
        code = context.code() or grpc.StatusCode.UNKNOWN
        raise
    finally:
        observed.handled(_code_name(code)).inc()
        observed.handling_seconds.observe(time.perf_counter() - started)


def _code_name(code: Any) -> str:
    # grpc.aio reports the code as a StatusCode, or as its integer value once aborted.
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return str(status.name)
    return "UNKNOWN"
