"""paycore's rich gRPC errors, read: `error_details(error)` turns a caught
`grpc.aio.AioRpcError` into an `ErrorDetails` (status code, stable reason, the offending
param, message, request id, retry delay) from the google.rpc.Status the server sends in the
`grpc-status-details-bin` trailer, so no caller decodes protobuf `Any`s by hand.

    try:
        await paycore.customers.CreateCustomer(request, metadata=idempotency_key("k"))
    except grpc.aio.AioRpcError as error:
        details = error_details(error)
        if details.reason == "PARAMETER_INVALID": ...  # details.param names the field
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from paycore.client.connection import REPLAYED

STATUS_DETAILS_HEADER = "grpc-status-details-bin"
REQUEST_ID_HEADER = "x-request-id"
RETRY_AFTER_HEADER = "retry-after-ms"
"""The trailers paycore's server adds to an error beside the status details."""


@dataclass(frozen=True)
class ErrorDetails:
    """What a paycore error says. `reason` is the stable code (paycore's errors catalogue:
    "PARAMETER_INVALID", "RESOURCE_MISSING", "IDEMPOTENCY_KEY_REUSED", ...) to branch on, never
    the message; `param` the request field (or header) at fault, as "items[0].price";
    `retry_after` seconds to wait before retrying (rate limits, a busy database), if the server
    said; `replayed` whether this was the stored answer of an earlier call with the same
    idempotency key. A foreign or plain error leaves what it did not send None or empty."""

    code: grpc.StatusCode
    message: str
    reason: str | None
    param: str | None
    domain: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    field_violations: tuple[tuple[str, str], ...] = ()
    request_id: str | None = None
    retry_after: float | None = None
    replayed: bool = False


def error_details(error: grpc.aio.AioRpcError) -> ErrorDetails:
    """The details of `error`, a call's raised `grpc.aio.AioRpcError` (see ErrorDetails)."""
    trailing = _trailers(error.trailing_metadata())
    status = _status(trailing.get(STATUS_DETAILS_HEADER))
    info: error_details_pb2.ErrorInfo | None = None
    violations: tuple[tuple[str, str], ...] = ()
    request_id: str | None = None
    retry_after: float | None = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and info is None:
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += tuple((v.field, v.description) for v in bad.field_violations)
        elif detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR):
            request = error_details_pb2.RequestInfo()
            detail.Unpack(request)
            request_id = request.request_id or None
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.ToMilliseconds() / 1000
    metadata = dict(info.metadata) if info is not None else {}
    param = metadata.get("param") or (violations[0][0] if violations else None)
    if request_id is None:
        request_id = _text(trailing.get(REQUEST_ID_HEADER))
    if retry_after is None:
        retry_after = _seconds(_text(trailing.get(RETRY_AFTER_HEADER)))
    message = status.message if status is not None and status.message else error.details()
    return ErrorDetails(
        code=error.code(),
        message=message or "",
        reason=(info.reason or None) if info is not None else None,
        param=param,
        domain=(info.domain or None) if info is not None else None,
        metadata=metadata,
        field_violations=violations,
        request_id=request_id,
        retry_after=retry_after,
        replayed=_text(trailing.get(REPLAYED)) == "true",
    )


def _trailers(metadata: Iterable[tuple[str, Any]] | None) -> dict[str, str | bytes]:
    found: dict[str, str | bytes] = {}
    for key, value in metadata or ():
        found.setdefault(key, value)
    return found


def _status(value: str | bytes | None) -> status_pb2.Status | None:
    if not isinstance(value, bytes):
        return None
    try:
        return status_pb2.Status.FromString(value)
    except DecodeError:  # a malformed detail from a foreign server: the plain error remains
        return None


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or None


def _seconds(milliseconds: str | None) -> float | None:
    if milliseconds is None or not milliseconds.isdigit():
        return None
    return int(milliseconds) / 1000
