from __future__ import annotations

import logging
import re
import time
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
    it in trailing metadata, and logs one line per call. Never logs request bodies: they can
    carry card numbers."""

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        offered = metadata_value(context, REQUEST_ID_HEADER)
        request_id = (
            offered if offered and _CLIENT_REQUEST_ID.fullmatch(offered) else _new_request_id()
        )
        call = CallContext(method=method, request_id=request_id, policy=policy)
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
            merchant = call.caller.merchant_id if call.caller else None
            logger.info(
                "rpc method=%s code=%s duration_ms=%.1f request_id=%s merchant=%s",
                method,
                code,
                (time.perf_counter() - started) * 1000,
                request_id,
                merchant or "-",
            )


def _new_request_id() -> str:
    return f"req_{random_base62(20)}"


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else str(code)
