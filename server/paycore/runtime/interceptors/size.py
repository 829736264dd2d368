"""A request size limit per method class (issue 23, item 7), checked on the raw bytes before
the message is parsed, and before authentication: an unauthenticated caller can make the
server parse no more than the small limit of a public method.

publishable (card tokenization from browsers): 16 KiB; merchant methods: 1 MiB, the REST
edge's body limit; admin and internal methods (ledger batches): the server's 4 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from paycore.errors import ApiError, Reason, invalid
from paycore.runtime.interceptors.base import Context, Handler, PolicyInterceptor
from paycore.runtime.policy import Access, MethodPolicy

KIB = 1024
REQUEST_BYTES_MAX = {
    Access.PUBLISHABLE: 16 * KIB,
    Access.SECRET: 1024 * KIB,
    Access.ADMIN: 4096 * KIB,
    Access.INTERNAL: 4096 * KIB,
}


@dataclass(frozen=True)
class _Oversized:
    size: int
    limit: int


@dataclass(frozen=True)
class _Undecodable:
    """Bytes that are not the method's message: grpc would answer INTERNAL ("Exception
    deserializing request"); this makes it INVALID_ARGUMENT naming the request."""


class RequestSizeInterceptor(PolicyInterceptor):
    """RESOURCE_EXHAUSTED (REQUEST_TOO_LARGE) for a request over its method class's limit;
    INVALID_ARGUMENT for bytes that do not parse as the method's message."""

    def _wrap(self, handler: Handler | None, method: str, policy: MethodPolicy) -> Handler | None:
        if handler is None or handler.unary_unary is None:
            return handler
        limit = REQUEST_BYTES_MAX[policy.access]
        parse = handler.request_deserializer
        behavior: Any = handler.unary_unary

        def deserialize(data: bytes) -> Any:
            if len(data) > limit:
                return _Oversized(len(data), limit)
            if parse is None:
                return data
            try:
                return parse(data)
            except (DecodeError, RecursionError, ValueError):
                return _Undecodable()

        async def checked(request: Any, context: Context) -> Any:
            if isinstance(request, _Oversized):
                raise ApiError(
                    Reason.REQUEST_TOO_LARGE, param="request", size=request.size, maximum=limit
                )
            if isinstance(request, _Undecodable):
                raise invalid("request", "the bytes are not this method's protobuf message")
            return await behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=deserialize,
            response_serializer=handler.response_serializer,
        )
