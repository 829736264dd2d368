"""A request size limit per method class (issue 23, item 7), checked on the raw bytes before
the message is parsed, and before authentication: an unauthenticated caller can make the
server parse no more than the small limit of a public method.

publishable (card tokenization from browsers): 16 KiB, unless the call carries a secret or
restricted key (a merchant's server), which gets the merchant methods' limit; merchant
methods: 1 MiB, the REST edge's body limit; admin and internal methods (ledger batches): the
server's 4 MiB.

And the answer of a List (`data` and `has_more`) is bounded by what every gRPC client takes by
default (4 MiB, grpc's max_receive_message_length): a page of large objects (events of
customers with full metadata) is cut short, `has_more` set, rather than the server refusing to
send it (RESOURCE_EXHAUSTED "Sent message larger than max").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message
from paycore import contracts
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


ANSWER_BYTES_MAX = 4 * 1024 * KIB - 64 * KIB
"""The largest List answer sent: under gRPC's default 4 MiB receive limit, with room for the
frame and trailers."""


@dataclass(frozen=True)
class _Oversized:
    size: int
    limit: int


@dataclass(frozen=True)
class _Undecodable:
    """Bytes that are not the method's message: grpc would answer INTERNAL ("Exception
    deserializing request"); this makes it INVALID_ARGUMENT naming the request."""


@dataclass(frozen=True)
class _HoldsNul:
    """A string field with a NUL character, which no PostgreSQL text column can hold (the
    database refused it mid-call: INTERNAL); refused up front, naming the field."""

    param: str


class RequestSizeInterceptor(PolicyInterceptor):
    """RESOURCE_EXHAUSTED (REQUEST_TOO_LARGE) for a request over its method class's limit;
    INVALID_ARGUMENT for bytes that do not parse as the method's message."""

    def _wrap(self, handler: Handler | None, method: str, policy: MethodPolicy) -> Handler | None:
        if handler is None or handler.unary_unary is None:
            return handler
        limit = REQUEST_BYTES_MAX[policy.access]
        behavior: Any = handler.unary_unary
        pages = method in _page_methods()
        parse = _checked_parse(handler.request_deserializer, REQUEST_BYTES_MAX[Access.SECRET])
        deserialize = _checked_parse(handler.request_deserializer, limit)
        if policy.access is Access.PUBLISHABLE:
            deserialize = _deferred_past(limit, parse)

        async def checked(request: Any, context: Context) -> Any:
            if isinstance(request, _Deferred):
                # A publishable-key method past the public key's limit: the secret key (a
                # merchant's server tokenizing a card with Stripe's metadata) takes what every
                # merchant method takes; the public key and no key are refused unparsed.
                if not _merchant_server(context.invocation_metadata()):
                    raise ApiError(
                        Reason.REQUEST_TOO_LARGE,
                        param="request",
                        size=len(request.data),
                        maximum=limit,
                    )
                request = parse(request.data)
            if isinstance(request, _Oversized):
                raise ApiError(
                    Reason.REQUEST_TOO_LARGE,
                    param="request",
                    size=request.size,
                    maximum=request.limit,
                )
            if isinstance(request, _Undecodable):
                raise invalid("request", "the bytes are not this method's protobuf message")
            if isinstance(request, _HoldsNul):
                raise invalid(request.param, "must not contain NUL characters")
            answer = await behavior(request, context)
            return bounded(answer, request) if pages else answer

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=deserialize,
            response_serializer=handler.response_serializer,
        )


@cache
def _page_methods() -> frozenset[str]:
    """The methods ("/paycore.v1.X/ListY") that answer a List's page: `data` and `has_more`,
    and no search's `next_page` (a token of its own). Decided once per method, when its
    handler is wrapped, not on every answer."""
    return frozenset(
        f"/{service.full_name}/{method.name}"
        for file in contracts.proto_files()
        for service in file.services_by_name.values()
        for method in service.methods
        if _is_page(method.output_type)
    )


def _is_page(answer: Descriptor) -> bool:
    fields = answer.fields_by_name
    return "data" in fields and "has_more" in fields and "next_page" not in fields


def bounded(answer: Any, request: Any) -> Any:
    """`answer`, a List's page, cut to ANSWER_BYTES_MAX when larger: the objects farthest from
    the page's cursor go (the last ones, or with `ending_before` the first ones: the client
    pages on from `data[-1]`, or back from `data[0]`), and `has_more` says more remain."""
    size = answer.ByteSize()
    if size <= ANSWER_BYTES_MAX:
        return answer
    data = answer.data
    from_front = bool(getattr(request, "ending_before", ""))
    while size > ANSWER_BYTES_MAX and len(data) > 1:
        item = data[0] if from_front else data[-1]
        size -= _field_bytes(item.ByteSize())
        del data[0 if from_front else -1]
    answer.has_more = True
    return answer


def _field_bytes(length: int) -> int:
    """The bytes a repeated message field's element of `length` bytes takes: its tag (one
    byte for a field numbered under 16), its length as a varint, then itself."""
    return 1 + max(1, (length.bit_length() + 6) // 7) + length


@dataclass(frozen=True)
class _Deferred:
    """A publishable-key method's request past the public key's limit, left unparsed until
    the caller's credential says which limit is its (`_merchant_server`)."""

    data: bytes


def _deferred_past(limit: int, parse: Any) -> Any:
    def deserialize(data: bytes) -> Any:
        return _Deferred(data) if len(data) > limit else parse(data)

    return deserialize


def _merchant_server(metadata: Any) -> bool:
    """Whether the call carries a secret or restricted key (`authorization: Bearer sk_...`),
    by its prefix alone: not authenticated yet, but no more than any merchant method takes
    from anyone."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value if isinstance(value, str) else value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            return scheme.lower() == "bearer" and token.strip().startswith(_SERVER_KEY_PREFIXES)
    return False


_SERVER_KEY_PREFIXES = ("sk_", "rk_")


def _checked_parse(parse: Any, limit: int) -> Any:
    """The method's deserializer, answering what `checked` refuses instead of raising (grpc
    would answer a raise from a deserializer INTERNAL)."""

    def deserialize(data: bytes) -> Any:
        if len(data) > limit:
            return _Oversized(len(data), limit)
        if parse is None:
            return data
        try:
            message = parse(data)
        except (DecodeError, RecursionError, ValueError):
            return _Undecodable()
        if b"\x00" in data:  # cheap: only requests with a zero byte are walked
            found = field_with_nul(message)
            if found is not None:
                return _HoldsNul(found)
        return message

    return deserialize


def field_with_nul(message: Message, prefix: str = "") -> str | None:
    """The path of the first string (or map key/value) in `message` holding "\\x00"."""
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            found = _map_entry_with_nul(name, value)
        else:
            found = _items_with_nul(
                name, value if field.is_repeated else [value], field.is_repeated
            )
        if found is not None:
            return found
    return None


def _map_entry_with_nul(name: str, value: Any) -> str | None:
    """As paycore.validation names them: the map for a bad key, the entry for a value."""
    for key, item in value.items():
        if "\x00" in str(key):
            return name
        if isinstance(item, str) and "\x00" in item:
            return f"{name}[{key}]"
        if isinstance(item, Message):
            found = field_with_nul(item, f"{name}[{key}].")
            if found is not None:
                return found
    return None


def _items_with_nul(name: str, items: Any, repeated: bool) -> str | None:
    for index, item in enumerate(items):
        where = f"{name}[{index}]" if repeated else name
        if isinstance(item, str) and "\x00" in item:
            return where
        if isinstance(item, Message):
            found = field_with_nul(item, f"{where}.")
            if found is not None:
                return found
    return None
