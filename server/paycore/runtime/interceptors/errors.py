from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from paycore.errors import ApiError, Reason, Status
from paycore.invariants import violated
from paycore.runtime.context import current_call
from paycore.runtime.interceptors.base import Behavior, Context, PolicyInterceptor
from paycore.runtime.interceptors.idempotency import REPLAYED
from paycore.runtime.interceptors.request_log import REQUEST_ID_HEADER
from paycore.runtime.policy import MethodPolicy, is_operator_method
from paycore.storage.failures import as_api_error

logger = logging.getLogger(__name__)
ERROR_DOMAIN = "paycore"
RETRY_AFTER_HEADER = "retry-after-ms"
STATUS_DETAILS_HEADER = "grpc-status-details-bin"
MESSAGE_CHARS_MAX = 500
"""The longest error message sent. It travels twice in the trailing metadata (grpc-message, and
the Status in grpc-status-details-bin), which gRPC clients refuse past 8 KiB (soft) and 16 KiB
(hard) with RESOURCE_EXHAUSTED; a message may quote a value the caller sent, of any length."""
PARAM_CHARS_MAX = 500
"""The longest `param` sent, for the same reason: a param may name a key the caller sent (a
metadata key too long, `metadata[<the key>]`), of any length. Longer is cut, marked "..."."""


class ErrorInterceptor(PolicyInterceptor):
    """Domain errors become a gRPC status with a google.rpc.ErrorInfo detail (reason, and the
    offending `param` in its metadata; an INVALID_ARGUMENT naming a request field also a
    google.rpc.BadRequest field violation of it, what generic gRPC tooling reads); anything
    unexpected becomes INTERNAL with the request id, and is logged with its traceback.
    Database and Redis trouble becomes UNAVAILABLE or ABORTED with RetryInfo
    (paycore.storage.failures). Nothing leaves as UNKNOWN."""

    async def around(
        self, behavior: Behavior, request: Any, context: Context, method: str, policy: MethodPolicy
    ) -> Any:
        try:
            return await behavior(request, context)
        except ApiError as error:
            await abort(context, error, answered_status(error, policy))
        except (aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as error:
            infrastructure = as_api_error(error)
            if infrastructure is not None:
                logger.warning(
                    "%s in %s (request %s): %r",
                    infrastructure.reason.name,
                    method,
                    current_call().request_id,
                    error,
                )
                await abort(context, infrastructure)
            request_id = current_call().request_id
            logger.exception("unexpected error in %s (request %s)", method, request_id)
            await abort(context, ApiError(Reason.INTERNAL_ERROR, request_id=request_id))


def answered_status(error: ApiError, policy: MethodPolicy) -> Status:
    """The status `error` is answered with: its reason's, but for an object missing that a
    field other than the call's targets names (a payment intent's `customer`, a refund's
    `payment_intent`): that is the request's mistake, INVALID_ARGUMENT, as Stripe answers 400
    `resource_missing`; a missing target (`GET /v1/customers/{id}`) stays NOT_FOUND, and so
    does every missing object of the operators' and internal methods."""
    if (
        error.reason is Reason.RESOURCE_MISSING
        and policy.targets is not None
        and not is_operator_method(policy)
        and error.param
        and not _is_header(error.param)  # `paycore-merchant`: whom the call acts for
        and _field_name(error.param) not in policy.targets
    ):
        return Status.INVALID_ARGUMENT
    return error.status


def _field_name(param: str) -> str:
    """The request's top-level field a param names ("payment_orders[0].seller_account" ->
    "payment_orders")."""
    return re.split(r"[.\[]", param, maxsplit=1)[0]


async def abort(
    context: aio.ServicerContext[Any, Any], error: ApiError, status: Status | None = None
) -> NoReturn:
    """Ends the call with `error` (answered with `status`, by default the error's)."""
    status_code = int(error.status if status is None else status)
    call = current_call()
    error_info = error_details_pb2.ErrorInfo(reason=error.reason.name, domain=ERROR_DOMAIN)
    error_info.metadata.update(error.metadata)
    if error.param:
        error_info.metadata["param"] = _bounded(error.param, PARAM_CHARS_MAX)
    message = _bounded(error.message, MESSAGE_CHARS_MAX)
    details = [_packed(error_info)]
    if status_code == Status.INVALID_ARGUMENT and error.param and not _is_header(error.param):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error_info.metadata["param"], description=message, reason=error.reason.name
        )
        details.append(_packed(error_details_pb2.BadRequest(field_violations=[violation])))
    trailing = [(REQUEST_ID_HEADER, call.request_id)]
    if error.is_replay:
        trailing.extend(REPLAYED)
    retry_after_ms = error.metadata.get("retry_after_ms")
    if retry_after_ms:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(retry_after_ms))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
        trailing.append((RETRY_AFTER_HEADER, retry_after_ms))
    answered = status_pb2.Status(code=status_code, message=message, details=details)
    trailing.append((STATUS_DETAILS_HEADER, answered.SerializeToString()))
    await context.abort(_grpc_code(status_code), message, tuple(trailing))
    violated("context.abort returned")  # pragma: no cover


def _is_header(param: str) -> bool:
    """Whether `param` names a header (`idempotency-key`, `paycore-merchant`) rather than a
    field of the request (`email`, `metadata[order-id]`): no field's name has a hyphen."""
    return "-" in _field_name(param)


def _bounded(text: str, length_max: int) -> str:
    if len(text) <= length_max:
        return text
    return text[: length_max - 3] + "..."


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _grpc_code(value: int) -> grpc.StatusCode:
    return _GRPC_CODES[value]
