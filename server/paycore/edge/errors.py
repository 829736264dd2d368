"""Errors as the REST edge renders them: `{"error": {"type", "code", "message", "param"}}`.

    EdgeError            a 4xx the edge answers itself (bad JSON, unknown field, ...), or a
                         gRPC failure translated by `from_rpc_error`

A gRPC status maps to HTTP by the usual table (google/rpc/code.proto); the ErrorInfo detail
gives `code` (its reason, lowercased as Stripe writes codes) and `param`, and the reason's
paycore.errors.ErrorType gives `type`. A card error (INVALID_ARGUMENT of a card number, expiry
or cvc refused, FAILED_PRECONDITION of a declined card) is 402, as Stripe answers every
card_error. A 409 that a retry cannot change (ALREADY_EXISTS, unlike ABORTED's
"in progress" and "conflicted") and a 501 carry `Stripe-Should-Retry: false`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc
from aiohttp import web
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from paycore.errors import ErrorType, Reason
from paycore.runtime.interceptors.errors import RETRY_AFTER_HEADER, STATUS_DETAILS_HEADER
from paycore.runtime.interceptors.idempotency import REPLAYED_HEADER
from paycore.stripe_json import KIND_OF_PREFIX
from paycore.transcoding import dumps, sent_enum_names
from paycore.validation import (
    ENUM_ACCEPTED_METADATA,
    ENUM_METADATA,
    ENUM_VALUE_METADATA,
    ID_PREFIX_METADATA,
)

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
PAYMENT_REQUIRED = 402
PAYLOAD_TOO_LARGE = 413
JSON = "application/json"

SHOULD_RETRY_HEADER = "Stripe-Should-Retry"
"""What Stripe answers so that its SDKs skip a retry that cannot succeed: they retry every 409
and 5xx on their own (stripe-node twice by default, with backoff) unless it says "false"."""
_FINAL_STATUSES = frozenset({grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.UNIMPLEMENTED})

# The type of a status that came without a paycore reason (e.g. UNIMPLEMENTED from grpc itself).
_TYPE_BY_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: ErrorType.AUTHENTICATION,
    grpc.StatusCode.PERMISSION_DENIED: ErrorType.PERMISSION,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ErrorType.RATE_LIMIT,
    grpc.StatusCode.INVALID_ARGUMENT: ErrorType.INVALID_REQUEST,
    grpc.StatusCode.NOT_FOUND: ErrorType.INVALID_REQUEST,
    grpc.StatusCode.ALREADY_EXISTS: ErrorType.INVALID_REQUEST,
    grpc.StatusCode.FAILED_PRECONDITION: ErrorType.INVALID_REQUEST,
    grpc.StatusCode.OUT_OF_RANGE: ErrorType.INVALID_REQUEST,
}
_REASONS = {reason.name: reason for reason in Reason}
_CARD_ERROR_STATUSES = frozenset(
    {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION}
)
"""The refusals that are a 402 when their reason is a card error: Stripe answers every
card_error 402 (a card number, expiry or cvc it refuses, a declined charge), and stripe-python
picks CardError by that status (a 400 card_error is its InvalidRequestError)."""


@dataclass
class EdgeError(Exception):
    """An error answer: HTTP status, Stripe-style body fields, extra response headers."""

    status: int
    type: ErrorType
    code: str
    message: str
    param: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)
    """More fields of the error object (a card error's decline_code and payment_intent)."""
    close_connection: bool = False
    """The answer ends the connection: the request's body could not be read to its end."""

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"type": self.type.value, "code": self.code}
        param = bracketed(self.param) if self.param else ""
        # the message spells the parameter as `param` does, not as the server's dotted path
        message = self.message.replace(self.param, param) if param != self.param else self.message
        error["message"] = _shown(message, MESSAGE_SHOWN_MAX)
        if param:
            error["param"] = _shown(param, PARAM_SHOWN_MAX)
        error.update(self.extra)
        return {"error": error}


_DOT_OUTSIDE_BRACKETS = re.compile(r"\.(?![^\[]*\])")


def bracketed(param: str) -> str:
    """A field path as Stripe writes a parameter (`card[number]`, `items[0][price]`,
    `created[gt]`), from the dotted path the server names it by (`card.number`,
    `items[0].price`: google.rpc.BadRequest's form, which gRPC keeps); a dot inside brackets
    (a metadata key, `metadata[a.b]`) stays."""
    head, *rest = _DOT_OUTSIDE_BRACKETS.split(param)
    parts = []
    for part in rest:
        name, bracket, index = part.partition("[")
        parts.append(f"[{name}]{bracket}{index}")
    return head + "".join(parts)


PARAM_SHOWN_MAX = 200
MESSAGE_SHOWN_MAX = 1_000
"""An answer names the parameter it is about, but echoes at most this much of what the caller
sent (a parameter's name can be as long as the body): longer text is cut, marked with "..."."""


def _shown(text: str, length_max: int) -> str:
    return text if len(text) <= length_max else text[: length_max - 3] + "..."


def invalid_request(code: str, message: str, param: str = "", status: int = 400) -> EdgeError:
    return EdgeError(status, ErrorType.INVALID_REQUEST, code, message, param)


def parameter_unknown(param: str) -> EdgeError:
    return invalid_request("parameter_unknown", f"Received unknown parameter: {param}", param)


def parameter_invalid(param: str, detail: str) -> EdgeError:
    return invalid_request("parameter_invalid", f"{param}: {detail}", param)


IDEMPOTENT_REPLAYED = {"Idempotent-Replayed": "true"}
"""Stripe's header on an answer replayed from its idempotency key (the server's trailing
`paycore-idempotent-replayed`); absent on a first execution."""


def replay_headers(trailing: Mapping[str, str | bytes]) -> dict[str, str]:
    """`IDEMPOTENT_REPLAYED` when the call's trailing metadata says its answer is a replay."""
    return IDEMPOTENT_REPLAYED if trailing.get(REPLAYED_HEADER) == "true" else {}


def internal_error(request_id: str) -> EdgeError:
    message = f"An internal error occurred (request {request_id})"
    return EdgeError(500, ErrorType.API, "internal_error", message)


def error_response(error: EdgeError, request_id: str) -> web.Response:
    headers = {"Request-Id": request_id, **error.headers}
    response = web.Response(
        body=dumps(error.body()), status=error.status, content_type=JSON, headers=headers
    )
    if error.close_connection:
        response.force_close()
    return response


def from_rpc_error(
    error: aio.AioRpcError, what: str, path: Mapping[str, str] | None = None
) -> EdgeError:
    """The HTTP answer for a failed gRPC call; `what` ("POST /v1/payments") names the route in
    messages the server did not write itself. A missing object the server answered as a bad
    argument (400 `resource_missing`: a filter of a List) is 404 where the route's path
    (`path`: its variables and their values) names it: `/v1/customers/{customer}/payment_methods`;
    so is a malformed id there, as Stripe's (`_not_found_in_path`)."""
    path = path or {}
    code = error.code()
    trailing = {key: value for key, value in error.trailing_metadata() or ()}
    info = _error_info(trailing.get(STATUS_DETAILS_HEADER))
    reason = _REASONS.get(info.reason) if info is not None else None
    error_type = reason.error_type if reason else _TYPE_BY_STATUS.get(code, ErrorType.API)
    param = info.metadata.get("param", "") if info is not None else ""
    status = _http_status(code, error_type, reason, param, path)
    message = error.details() or code.name.lower()
    if info is None:
        message = _plain_message(code, what, message)
    elif reason is Reason.PARAMETER_UNKNOWN_ENUM:
        message = _enum_message(param, info.metadata) or message
    result = EdgeError(
        status=status,
        type=error_type,
        code=info.reason.lower() if info is not None and info.reason else code.name.lower(),
        message=message,
        param=param,
    )
    missing = _not_found_in_path(reason, param, path, info.metadata if info is not None else {})
    if missing is not None:
        result.status, result.code, result.message = missing
    if error_type == ErrorType.CARD and info is not None:
        # A declined charge's own code (PayInvoice: expired_card, incorrect_cvc...), as its
        # payment intent's last_payment_error has it, and the issuer's reason.
        result.code = info.metadata.get("code") or result.code
        if info.metadata.get("decline_code"):
            result.extra["decline_code"] = info.metadata["decline_code"]
    if code in _FINAL_STATUSES:
        result.headers[SHOULD_RETRY_HEADER] = "false"
    retry_after_ms = trailing.get(RETRY_AFTER_HEADER)
    if isinstance(retry_after_ms, str) and retry_after_ms.isdigit():
        result.headers["Retry-After"] = str(max(1, math.ceil(int(retry_after_ms) / 1000)))
    result.headers.update(replay_headers(trailing))
    return result


def _http_status(
    code: grpc.StatusCode,
    error_type: ErrorType,
    reason: Reason | None,
    param: str,
    path: Mapping[str, str],
) -> int:
    if error_type == ErrorType.CARD and code in _CARD_ERROR_STATUSES:
        return PAYMENT_REQUIRED
    if reason is Reason.REQUEST_TOO_LARGE:
        # gRPC's RESOURCE_EXHAUSTED for a message over the method's size limit: a body too
        # large, as the edge's own limit answers it; 429 would have clients retry the same body.
        return PAYLOAD_TOO_LARGE
    if reason is Reason.RESOURCE_MISSING and re.split(r"[.\[]", param, maxsplit=1)[0] in path:
        return HTTP_STATUS[grpc.StatusCode.NOT_FOUND]
    return HTTP_STATUS.get(code, 500)


def _not_found_in_path(
    reason: Reason | None, param: str, path: Mapping[str, str], metadata: Mapping[str, str]
) -> tuple[int, str, str] | None:
    """(status, code, message) of a malformed id in the path, as Stripe answers any id there
    that names nothing: 404 `resource_missing` "No such payment_intent: 'pi_123'". None for
    another error, or when the server did not say which kind of id it wanted
    (ID_PREFIX_METADATA)."""
    kind = KIND_OF_PREFIX.get(metadata.get(ID_PREFIX_METADATA, ""))
    if reason is not Reason.ID_MALFORMED or param not in path or kind is None:
        return None
    message = Reason.RESOURCE_MISSING.template.format(object=kind, id=path[param])
    return HTTP_STATUS[grpc.StatusCode.NOT_FOUND], Reason.RESOURCE_MISSING.name.lower(), message


def _enum_message(param: str, metadata: Mapping[str, str]) -> str | None:
    """PARAMETER_UNKNOWN_ENUM in the names a JSON client sends, in the form of the edge's own
    check of an enum (paycore.transcoding): the server's message names the proto's values
    (`PAYOUT_STATUS_PAID`), which a JSON client never writes. None when the metadata does not
    say which values (a server of another version): the server's message stands."""
    enum_name = metadata.get(ENUM_METADATA, "")
    accepted, given = metadata.get(ENUM_ACCEPTED_METADATA), metadata.get(ENUM_VALUE_METADATA, "")
    if not enum_name or accepted is None or not given.lstrip("-").isdigit():
        return None
    numbers = [int(number) for number in accepted.split(",") if number.isdigit()]
    names = sent_enum_names(enum_name, numbers)
    if names is None:
        return None
    sent = sent_enum_names(enum_name, [int(given)])
    return f"{param}: must be one of {', '.join(names)} (not {sent[0] if sent else given})"


def _plain_message(code: grpc.StatusCode, what: str, message: str) -> str:
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return f"{what} is not implemented yet"
    if code == grpc.StatusCode.UNAVAILABLE:
        return "The service is unavailable; retry later"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "The request took too long; retry it with the same Idempotency-Key"
    return message


def _error_info(details: str | bytes | None) -> error_details_pb2.ErrorInfo | None:
    if not isinstance(details, bytes):
        return None
    try:
        status = status_pb2.Status.FromString(details)
    except Exception:  # a malformed detail from a foreign server: render without it
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None
