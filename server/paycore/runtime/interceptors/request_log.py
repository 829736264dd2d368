from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from grpc import aio
from paycore.ids import random_base62
from paycore.runtime.context import CallContext, begin_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor, metadata_value
from paycore.runtime.policy import MethodPolicy

logger = logging.getLogger("paycore.requests")
REQUEST_ID_HEADER = "x-request-id"
# fullmatch: `$` alone would accept a trailing newline, which splits the log line.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class RequestLogInterceptor(PolicyInterceptor):
    """Gives each call a request id (the caller's `x-request-id` if it sent a sane one), returns
    it in trailing metadata, and logs one line per call: every failed call, and OK or
    rate-limited calls up to `per_second` a second (`LogBudget`), so that under load (or a
    client hammering past its rate limit) the log costs a bounded amount of CPU whatever the
    rate. Never logs request bodies: they can carry card numbers."""

    def __init__(self, policies: Mapping[str, MethodPolicy], per_second: int = 0) -> None:
        super().__init__(policies)
        self._budget = LogBudget(per_second)

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        metadata = tuple(context.invocation_metadata() or ())
        offered = metadata_value(metadata, REQUEST_ID_HEADER)
        request_id = (
            offered if offered and _CLIENT_REQUEST_ID.fullmatch(offered) else _new_request_id()
        )
        call = CallContext(method=method, request_id=request_id, policy=policy, metadata=metadata)
        begin_call(call)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        started = time.perf_counter()
        code = "UNKNOWN"
        try:
            response = await behavior(request, context)
            code = "OK"
            return response
        except aio.AbortError:
            code = _code_name(context.code())
            raise
        finally:
            skipped = self._budget.take(sampled=code in SAMPLED_CODES)
            if skipped is not None and logger.isEnabledFor(logging.INFO):
                merchant = call.caller.merchant_id if call.caller else None
                logger.info(
                    "rpc method=%s code=%s duration_ms=%.1f request_id=%s merchant=%s skipped=%d",
                    method,
                    code,
                    (time.perf_counter() - started) * 1000,
                    request_id,
                    merchant or "-",
                    skipped,
                )


SAMPLED_CODES = frozenset({"OK", "RESOURCE_EXHAUSTED"})
"""The calls whose lines `LogBudget` bounds: the OK ones, and those refused by a rate limit (a
client past its limit makes as many as it sends; the metrics count each one). Any other failure
always gets its line."""


class LogBudget:
    """At most `per_second` lines of sampled calls a second (0: no limit); any other call
    always gets its line. `take` says whether this call's line is written, with the sampled
    calls skipped since the last line written (None: skip it)."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_second = per_second
        self._clock = clock
        self._second = 0
        self._written = 0
        self._skipped = 0

    def take(self, sampled: bool) -> int | None:
        if self._per_second > 0 and sampled:
            second = int(self._clock())
            if second != self._second:
                self._second, self._written = second, 0
            if self._written >= self._per_second:
                self._skipped += 1
                return None
            self._written += 1
        skipped, self._skipped = self._skipped, 0
        return skipped


def _new_request_id() -> str:
    return f"req_{random_base62(20)}"


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else str(code)
