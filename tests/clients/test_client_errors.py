"""paycore.client.error_details: a caught `grpc.aio.AioRpcError` read as paycore's rich error
(google.rpc.Status in `grpc-status-details-bin`: ErrorInfo's reason and param, BadRequest's
field violations, RequestInfo, RetryInfo; the request id of the `x-request-id` trailer) without
decoding protobuf by hand. Against the real server, and a stand-in server for the details
paycore sends only under load (RetryInfo) or that other Google-style servers send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from paycore.client import ErrorDetails, connect, error_details, idempotency_key
from paycore.v1 import customer_pb2

from tests.helpers import MerchantFixture


async def _raised(call: Any) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_a_validation_error_names_its_field(merchant: MerchantFixture) -> None:
    error = await _raised(
        merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(email="x" * 600)
        )
    )
    details = error_details(error)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "PARAMETER_TOO_LONG"
    assert details.param == "email"
    assert "email" in details.message
    assert details.request_id  # the server's x-request-id, for a support ticket
    assert details.retry_after is None
    assert not details.replayed


async def test_a_missing_object_is_not_found(merchant: MerchantFixture) -> None:
    error = await _raised(
        merchant.client.customers.GetCustomer(
            customer_pb2.GetCustomerRequest(id="cus_0000000000000000000000")
        )
    )
    details = error_details(error)
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")
    assert details.param == "id"
    assert "cus_0000000000000000000000" in details.message


async def test_an_idempotency_key_reused_for_another_request(merchant: MerchantFixture) -> None:
    await merchant.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Ada"), metadata=idempotency_key("cus-k")
    )
    error = await _raised(
        merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(name="Grace"), metadata=idempotency_key("cus-k")
        )
    )
    details = error_details(error)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.reason == "IDEMPOTENCY_KEY_REUSED"
    assert details.domain == "paycore"


class _Rich(grpc.GenericRpcHandler):
    """Answers every call with a rich status: what a server under load, or another
    Google-style server, sends."""

    def __init__(self, status: status_pb2.Status, trailing: tuple[tuple[str, str], ...]) -> None:
        self._status = status
        self._trailing = trailing

    async def _abort(self, request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
        trailing = (*self._trailing, ("grpc-status-details-bin", self._status.SerializeToString()))
        await context.abort(
            grpc.StatusCode(_CODES[self._status.code]), self._status.message, trailing
        )
        raise AssertionError("unreachable")

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        return grpc.unary_unary_rpc_method_handler(self._abort)


_CODES = {code.value[0]: code.value for code in grpc.StatusCode}


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


@pytest_asyncio.fixture
async def rich_server() -> AsyncIterator[str]:
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(1500)
    status = status_pb2.Status(
        code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
        message="bad request",
        details=[
            _packed(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="items[0].price", description="is required"
                        )
                    ]
                )
            ),
            _packed(error_details_pb2.RequestInfo(request_id="req-in-status")),
            _packed(error_details_pb2.RetryInfo(retry_delay=delay)),
        ],
    )
    server = aio.server()
    server.add_generic_rpc_handlers((_Rich(status, (("paycore-idempotent-replayed", "true"),)),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_field_violations_request_info_and_retry_info(rich_server: str) -> None:
    async with connect(rich_server, "sk_test_x", retries=False) as client:
        error = await _raised(client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest()))
    details = error_details(error)
    assert details.reason is None  # no ErrorInfo
    assert details.param == "items[0].price"  # the first violation, when ErrorInfo names none
    assert details.field_violations == (("items[0].price", "is required"),)
    assert details.request_id == "req-in-status"
    assert details.retry_after == 1.5
    assert details.replayed


async def test_a_plain_error_without_details() -> None:
    error = aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, aio.Metadata(), aio.Metadata(), "connection refused"
    )
    details = error_details(error)
    assert details == ErrorDetails(
        code=grpc.StatusCode.UNAVAILABLE, message="connection refused", reason=None, param=None
    )
