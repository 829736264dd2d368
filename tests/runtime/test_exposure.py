"""Issue 23, item 7: what the public port shows and accepts."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
from grpc import aio
from paycore import contracts
from paycore.client import connect
from paycore.config import Settings
from paycore.errors import ApiError, Reason
from paycore.ids import Prefix, new_id
from paycore.runtime.context import CallContext, begin_call, current_call
from paycore.runtime.interceptors.headers import HeaderInterceptor
from paycore.runtime.interceptors.request_log import _CLIENT_REQUEST_ID
from paycore.v1 import account_pb2, customer_pb2, executor_pb2, ledger_pb2

from tests.helpers import MerchantFixture, reflected_services, rich_error

INTERNAL = {"paycore.v1.LedgerService", "paycore.v1.ExecutorService"}


async def _failure(call: object) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value


async def test_internal_services_live_on_the_internal_port(
    two_ports: tuple[str, str], settings: Settings
) -> None:
    public, internal = two_ports
    assert not INTERNAL & await reflected_services(public)
    assert await reflected_services(internal) >= INTERNAL
    assert "paycore.v1.AccountService" in await reflected_services(public)
    request = ledger_pb2.ListAccountsRequest()
    async with connect(public, settings.admin_token) as on_public:
        error = await _failure(on_public.ledger.ListAccounts(request))
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    async with connect(internal, settings.admin_token) as on_internal:
        await on_internal.ledger.ListAccounts(request)


async def test_oversized_requests_are_refused_before_parsing_and_authentication(
    target: str,
) -> None:
    """A 3.9 MiB unauthenticated message was parsed before authentication refused it."""
    async with aio.insecure_channel(target) as channel:
        raw = channel.unary_unary(
            "/paycore.v1.AccountService/GetMerchant",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        # A valid protobuf (field 1, a 3.9 MiB string) that parsing would have to copy.
        size = 3_900_000
        payload = b"\x0a" + _varint(size) + b"x" * size
        error = rich_error(await _failure(raw(payload)))
        assert (error.code, error.reason) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "REQUEST_TOO_LARGE",
        )
        tokenize = channel.unary_unary(
            "/paycore.v1.CustomerService/CreatePaymentMethod",
            request_serializer=lambda data: data,
            response_deserializer=lambda data: data,
        )
        error = rich_error(await _failure(tokenize(b"\x0a" + _varint(20_000) + b"x" * 20_000)))
        assert error.reason == "REQUEST_TOO_LARGE"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


async def test_ids_naming_shards_beyond_the_map_are_not_found(
    target: str, settings: Settings
) -> None:
    """Ids naming logical shard 4000 gave 500."""
    far_merchant = new_id(Prefix.ACCOUNT, 4000)
    far_execution = new_id(Prefix.EXECUTION, 4000)
    async with connect(target, settings.admin_token) as admin:
        error = rich_error(
            await _failure(
                admin.accounts.GetMerchant(account_pb2.GetMerchantRequest(id=far_merchant))
            )
        )
        assert error.code == grpc.StatusCode.NOT_FOUND, error
        error = rich_error(
            await _failure(
                admin.executor.GetExecution(executor_pb2.GetExecutionRequest(id=far_execution))
            )
        )
        assert error.code == grpc.StatusCode.NOT_FOUND, error
    async with connect(target, settings.admin_token, acting_for=far_merchant) as acting:
        error = rich_error(
            await _failure(acting.customers.CreateCustomer(customer_pb2.CreateCustomerRequest()))
        )
        assert (error.code, error.param) == (grpc.StatusCode.NOT_FOUND, "paycore-merchant")


async def test_operators_cannot_act_for_a_merchant_that_does_not_exist(
    target: str, settings: Settings, merchant: MerchantFixture
) -> None:
    """An operator could create a customer for a merchant that does not exist."""
    made_up = new_id(Prefix.ACCOUNT, 1)
    async with connect(target, settings.admin_token, acting_for=made_up) as acting:
        error = rich_error(
            await _failure(acting.customers.CreateCustomer(customer_pb2.CreateCustomerRequest()))
        )
        assert (error.code, error.param) == (grpc.StatusCode.NOT_FOUND, "paycore-merchant")
    async with connect(target, settings.admin_token, acting_for=merchant.merchant.id) as acting:
        created = await acting.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
        assert created.id.startswith("cus_")


@dataclass
class _Received:
    """What a grpc.aio server context tells an interceptor about a call, as a raw HTTP/2
    client can send it (grpc's own clients refuse control characters in metadata)."""

    metadata: tuple[tuple[str, str | bytes], ...]

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self.metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"


async def test_headers_with_control_characters_are_refused(merchant: MerchantFixture) -> None:
    """A trailing newline in x-request-id split a log line."""
    assert _CLIENT_REQUEST_ID.fullmatch("req-1\n") is None  # no longer taken as the id
    interceptor = HeaderInterceptor(contracts.method_policies(), ("127.0.0.1",))
    policy = contracts.method_policies()["/paycore.v1.AccountService/GetMerchant"]
    begin_call(CallContext(method="GetMerchant", request_id="req-test", policy=policy))

    async def behavior(request: object, context: object) -> str:
        return "answered"

    for name, value in (("x-request-id", "req-1\n"), ("x-note", "a\tb"), ("x-id", "a\x7f")):
        context = _Received(((name, value),))
        with pytest.raises(ApiError) as refused:
            await interceptor.around(behavior, None, context, "GetMerchant", policy)  # type: ignore[arg-type]
        assert (refused.value.reason, refused.value.param) == (Reason.HEADER_INVALID, name)
    binary = _Received((("trace-bin", b"\n\x00"), ("x-forwarded-for", "198.51.100.7")))
    assert await interceptor.around(behavior, None, binary, "m", policy) == "answered"  # type: ignore[arg-type]
    assert current_call().client_address == "198.51.100.7"

    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    call = merchant.client.accounts.GetMerchant(request, metadata=(("x-request-id", "req-ok.1"),))
    await call
    assert dict(await call.trailing_metadata() or ())["x-request-id"] == "req-ok.1"
