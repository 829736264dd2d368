"""Issue 23: a corpus of malformed inputs over gRPC, for every served method: each field in
turn set to the wrong kind of extreme (huge and negative numbers, unknown enum values, NUL,
unicode, very long strings, many repeated items and map entries, nesting), plus bytes that are
no message at all. No answer may be INTERNAL or UNKNOWN, none may take longer than the call's
deadline, and each carries paycore's reason (an ErrorInfo). Over HTTP, the same corpus goes
into every route's JSON body.

Every call is made by the most able caller (the admin token acting for a merchant), so the
inputs reach validation and the domain rather than stopping at authorization.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from aiohttp import ClientSession
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc import aio
from paycore import contracts
from paycore.client import connect
from paycore.edge import start_edge
from paycore.transcoding import message_class
from paycore.v1 import account_pb2

from tests.helpers import rich_error
from tests.security.conftest import OpenServer

CALL_TIMEOUT_SECONDS = 15.0
LONG = "x" * 200_000
STRINGS = (
    "\x00",
    "a\x00b",
    LONG,
    "💳\u202e\u0000\ufeff\U0010ffff",
    "acct_" + "Z" * 22,
    "' OR 1=1 --",
    "../../../etc/passwd",
    "-1",
    "9" * 40,
)
INTEGERS = (-1, -(2**31), 2**31 - 1, 2**53 + 1)
INTEGERS_64 = (-(2**63), 2**63 - 1)
UNSIGNED = (2**32 - 1,)
UNSIGNED_64 = (2**64 - 1,)
FLOATS = (float("nan"), float("inf"), -1e308)
ENUM_VALUES = (999_999, -1)
MANY = 2_000
NESTING_DEPTH = 6


def _values(field: FieldDescriptor) -> Iterator[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        yield from STRINGS
    elif kind == FieldDescriptor.TYPE_BYTES:
        yield from (b"\x00" * 10, b"\xff" * 100_000)
    elif kind in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
    ):
        yield from INTEGERS[:3]
    elif kind in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
    ):
        yield from (*INTEGERS, *INTEGERS_64)
    elif kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        yield from UNSIGNED
    elif kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        yield from UNSIGNED_64
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        yield from FLOATS
    elif kind == FieldDescriptor.TYPE_ENUM:
        yield from ENUM_VALUES
    elif kind == FieldDescriptor.TYPE_BOOL:
        yield True


def _mutants(descriptor: Descriptor) -> Iterator[tuple[str, Message]]:
    """(what was changed, the request) for each field and each bad value for it."""
    cls = message_class(descriptor)
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            yield from _map_mutants(cls, field)
        elif field.message_type is not None:
            yield from _message_mutants(cls, field)
        else:
            yield from _scalar_mutants(cls, field)


def _map_mutants(cls: Any, field: FieldDescriptor) -> Iterator[tuple[str, Message]]:
    entry = field.message_type
    assert entry is not None  # a map field's entry message
    key_field, value_field = entry.fields
    request = cls()
    target = getattr(request, field.name)
    if key_field.type == FieldDescriptor.TYPE_STRING and value_field.type == (
        FieldDescriptor.TYPE_STRING
    ):
        for index in range(MANY):
            target[f"k\x00{index}"] = LONG[:500]
        yield f"{field.name}: {MANY} entries", request


def _message_mutants(cls: Any, field: FieldDescriptor) -> Iterator[tuple[str, Message]]:
    request = cls()
    _nest(request, field, NESTING_DEPTH)
    yield f"{field.name}: nested, each field set", request
    if field.is_repeated:
        request = cls()
        for _ in range(MANY):
            getattr(request, field.name).add()
        yield f"{field.name}: {MANY} items", request


def _scalar_mutants(cls: Any, field: FieldDescriptor) -> Iterator[tuple[str, Message]]:
    for value in _values(field):
        request = cls()
        try:
            if field.is_repeated:
                getattr(request, field.name).extend([value] * (MANY if value != LONG else 3))
            else:
                setattr(request, field.name, value)
        except (ValueError, TypeError):
            continue  # not representable on the wire: no client can send it
        yield f"{field.name}={str(value)[:20]!r}", request


def _nest(message: Message, field: FieldDescriptor, depth: int) -> None:
    """Sets `field` (a message) with each of its own fields set to a bad value, recursively."""
    child = (
        getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
    )
    if depth == 0:
        return
    for inner in child.DESCRIPTOR.fields:
        if inner.message_type is not None:
            if not inner.message_type.GetOptions().map_entry:
                _nest(child, inner, depth - 1)
            continue
        value = next(_values(inner), None)
        if value is None:
            continue
        try:
            if inner.is_repeated:
                getattr(child, inner.name).append(value)
            else:
                setattr(child, inner.name, value)
        except (ValueError, TypeError):
            continue
    if not child.ListFields():
        child.SetInParent()


GARBAGE = (b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", b"\x08" * 33, b"\x0a\x05ab")


def _methods(open_server: OpenServer) -> list[tuple[str, Descriptor, Descriptor]]:
    found = []
    for file in contracts.proto_files():
        for service in file.services_by_name.values():
            if service.full_name not in open_server.served:
                continue
            for method in service.methods:
                found.append(
                    (f"/{service.full_name}/{method.name}", method.input_type, method.output_type)
                )
    return found


async def test_malformed_grpc_requests_never_answer_internal(open_server: OpenServer) -> None:
    settings = open_server.settings
    async with connect(open_server.target, settings.admin_token) as admin:
        merchant = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Fuzz", email="f@fuzz.test", country="US", default_currency="usd"
            )
        )
    metadata = (
        ("authorization", f"Bearer {settings.admin_token}"),
        ("paycore-merchant", merchant.id),
    )
    wrong: list[str] = []
    calls = 0
    async with aio.insecure_channel(
        open_server.target,
        options=[("grpc.max_send_message_length", 8 * 1024 * 1024)],
    ) as channel:
        semaphore = asyncio.Semaphore(16)

        async def send(method: str, output: Descriptor, what: str, payload: bytes) -> None:
            call: Any = channel.unary_unary(
                method,
                request_serializer=lambda data: data,
                response_deserializer=message_class(output).FromString,
            )
            async with semaphore:
                try:
                    await call(payload, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)
                except aio.AioRpcError as error:
                    if (
                        error.code()
                        in (
                            grpc.StatusCode.INTERNAL,
                            grpc.StatusCode.UNKNOWN,
                            grpc.StatusCode.DEADLINE_EXCEEDED,
                        )
                        or not rich_error(error).reason
                    ):
                        # No reason: not paycore's answer but the client's own refusal, e.g.
                        # RESOURCE_EXHAUSTED for an error message too long for the metadata.
                        wrong.append(f"{method} {what}: {error.code().name} {error.details()}")

        jobs = []
        for method, input_type, output_type in _methods(open_server):
            for what, request in _mutants(input_type):
                jobs.append(send(method, output_type, what, request.SerializeToString()))
            for garbage in GARBAGE:
                jobs.append(send(method, output_type, f"garbage {garbage[:8]!r}", garbage))
        calls = len(jobs)
        await asyncio.gather(*jobs)
    assert calls > 1500, calls
    assert not wrong, "\n".join(wrong[:40])


def _json_corpus() -> list[Any]:
    deep: Any = {}
    cursor = deep
    for _ in range(200):
        cursor["a"] = {}
        cursor = cursor["a"]
    return [
        {"amount": -1},
        {"amount": 10**30},
        {"amount": "1e400"},
        {"amount": 1.5},
        {"limit": -5},
        {"email": "\u0000@x.test"},
        {"name": LONG[:100_000]},
        {"metadata": {"\u0000": "💳" * 1000}},
        {"metadata": {f"k{i}": "v" for i in range(5000)}},
        {"id": "acct_" + "Z" * 22},
        deep,
        [deep],
        {"currency": "💳"},
        {"scopes": ["\u202e"] * 5000},
    ]


async def test_malformed_http_bodies_never_answer_5xx(open_server: OpenServer) -> None:
    settings = open_server.settings
    async with connect(open_server.target, settings.admin_token) as admin:
        merchant = await admin.accounts.CreateMerchant(
            account_pb2.CreateMerchantRequest(
                name="Fuzz", email="f@fuzz.test", country="US", default_currency="usd"
            )
        )
    edge = await start_edge(open_server.target, "127.0.0.1:0", operator_routes=True)
    wrong: list[str] = []
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            routes = [
                route
                for route in edge.edge.router.routes
                if route.rpc_method.strip("/").split("/")[0] in open_server.served
            ]
            for route in routes:
                path = route.template.replace("{id}", "acct_" + "1" * 22)
                path = "".join(
                    "x" if segment.startswith("{") else segment for segment in _split(path)
                )
                for body in _json_corpus():
                    for key in (merchant.secret_key, settings.admin_token):
                        async with http.request(
                            route.http_method,
                            path,
                            json=body if route.body else None,
                            params=None if route.body else {"limit": "-1", "x": "\u0000"},
                            headers={
                                "Authorization": f"Bearer {key}",
                                "Paycore-Merchant": merchant.id,
                            },
                        ) as answer:
                            if answer.status >= 500:
                                text = (await answer.text())[:200]
                                wrong.append(f"{route.http_method} {path}: {answer.status} {text}")
    finally:
        await edge.close()
    assert not wrong, "\n".join(wrong[:40])


def _split(path: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for character in path:
        if character == "{":
            parts.append(current)
            current = "{"
        elif character == "}":
            parts.append(current + "}")
            current = ""
        else:
            current += character
    parts.append(current)
    return parts


def test_the_corpus_reaches_every_kind_of_field() -> None:
    mutants = dict(_mutants(account_pb2.CreateSellerAccountRequest.DESCRIPTOR))
    assert len(mutants) >= 20
    assert any(what.startswith("metadata:") for what in mutants)


async def test_a_body_that_does_not_decode_answers_400_naming_its_encoding(
    open_server: OpenServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Content-Encoding gzip or deflate over bytes that are neither: the body cannot be read,
    which is the caller's fault (400 body_malformed, no ERROR logged), not the edge's (it
    answered 500 and logged two tracebacks)."""
    edge = await start_edge(open_server.target, "127.0.0.1:0")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            for encoding in ("gzip", "deflate"):
                async with http.post(
                    "/v1/customers",
                    data=b'{"name": "not compressed"}',
                    headers={
                        "Authorization": "Bearer sk_test_" + "0" * 40,
                        "Content-Type": "application/json",
                        "Content-Encoding": encoding,
                    },
                ) as answer:
                    error = (await answer.json())["error"]
                    assert answer.status == 400, (encoding, answer.status, error)
                    assert error["code"] == "body_malformed", error
                    assert encoding in error["message"], error
            # The dashboard's sign-in form (the edge's own pages, not a transcoded route).
            async with http.post(
                "/dashboard/login",
                data=b"key=sk_test_x",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Encoding": "gzip",
                },
            ) as answer:
                assert answer.status == 400, (answer.status, await answer.text())
                assert (await answer.json())["error"]["code"] == "body_malformed"
    finally:
        await edge.close()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
