from __future__ import annotations

import time
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
        labels = ("unary", service, name)

        async def around(behavior: Behavior, request: Any, context: Context) -> Any:
            return await self._observe(labels, behavior, request, context)

        return wrap_unary(handler, around)

    async def _observe(
        self, labels: tuple[str, str, str], behavior: Behavior, request: Any, context: Context
    ) -> Any:
        self._metrics.started.labels(*labels).inc()
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
            self._metrics.handled.labels(*labels, _code_name(code)).inc()
            self._metrics.handling_seconds.labels(*labels).observe(time.perf_counter() - started)


def _code_name(code: Any) -> str:
    # grpc.aio reports the code as a StatusCode, or as its integer value once aborted.
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return str(status.name)
    return "UNKNOWN"
