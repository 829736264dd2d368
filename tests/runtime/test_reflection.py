"""Server reflection answers what ghz and grpcurl ask, as the C++ and Go servers do.

ghz `--call paycore.v1.AccountService.GetMerchant` (no --proto) asks `file_containing_symbol`
for the method's full name, then `file_by_filename` for each import the answer lacks, and builds
the request from the files it got. The first test does exactly that over a real channel."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paycore import contracts
from paycore.runtime.policy import internal_services
from paycore.runtime.reflection import symbols_of


async def _ask(target: str, requests: list[reflection_pb2.ServerReflectionRequest]) -> list[Any]:
    async with aio.insecure_channel(target) as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]
        return [response async for response in stub.ServerReflectionInfo(iter(requests))]


def _files(response: Any) -> list[descriptor_pb2.FileDescriptorProto]:
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]


async def _resolve_like_ghz(target: str, symbol: str) -> descriptor_pool.DescriptorPool:
    """A fresh pool holding the symbol's file and everything it imports, fetched by reflection."""
    pool = descriptor_pool.DescriptorPool()
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    (answer,) = await _ask(target, [request])
    known = {file.name: file for file in _files(answer)}
    missing = [dep for file in known.values() for dep in file.dependency if dep not in known]
    while missing:
        name = missing.pop()
        (answer,) = await _ask(
            target, [reflection_pb2.ServerReflectionRequest(file_by_filename=name)]
        )
        for file in _files(answer):
            known.setdefault(file.name, file)
            missing.extend(dep for dep in file.dependency if dep not in known)
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        for dependency in known[name].dependency:
            add(dependency)
        pool.Add(known[name])
        added.add(name)

    for name in known:
        add(name)
    return pool


async def test_a_method_resolves_as_ghz_asks(target: str) -> None:
    pool = await _resolve_like_ghz(target, "paycore.v1.AccountService.GetMerchant")
    method = pool.FindMethodByName("paycore.v1.AccountService.GetMerchant")
    assert method.input_type.full_name == "paycore.v1.GetMerchantRequest"
    # ghz turns its -d JSON into the request with the descriptors it fetched.
    request = message_factory.GetMessageClass(method.input_type)()
    json_format.ParseDict({"id": "acct_x"}, request)
    assert request.SerializeToString() == b"\n\x06acct_x"


async def test_the_payment_call_ghz_benches_resolves_with_its_imports(target: str) -> None:
    pool = await _resolve_like_ghz(target, "paycore.v1.PaymentService.CreatePaymentIntent")
    method = pool.FindMethodByName("paycore.v1.PaymentService.CreatePaymentIntent")
    fields = method.input_type.fields_by_name
    assert {"amount", "currency", "payment_method", "confirm"} <= set(fields)
    # The response's RiskAssessment lives in fraud.proto: the import came with it.
    assert pool.FindMessageTypeByName("paycore.v1.RiskAssessment").file.name.endswith("fraud.proto")


async def test_health_check_resolves(target: str) -> None:
    pool = await _resolve_like_ghz(target, "grpc.health.v1.Health.Check")
    assert pool.FindMethodByName("grpc.health.v1.Health.Check").output_type.name == (
        "HealthCheckResponse"
    )


@pytest.mark.parametrize(
    ("symbol", "file"),
    [
        ("paycore.v1.AccountService", "paycore/v1/account.proto"),
        ("paycore.v1.Merchant", "paycore/v1/account.proto"),
        ("paycore.v1.Merchant.id", "paycore/v1/account.proto"),
        ("paycore.v1.PaymentIntentStatus", "paycore/v1/payment.proto"),
        ("paycore.v1.PAYMENT_INTENT_STATUS_SUCCEEDED", "paycore/v1/payment.proto"),
        (
            "paycore.v1.PaymentIntentStatus.PAYMENT_INTENT_STATUS_SUCCEEDED",
            "paycore/v1/payment.proto",
        ),
        ("paycore.v1.PaymentIntent.LastPaymentError.decline_code", "paycore/v1/payment.proto"),
        ("paycore.v1.policy", "paycore/v1/common.proto"),
        ("grpc.health.v1.Health.Watch", "grpc_health/v1/health.proto"),
    ],
)
async def test_every_kind_of_symbol_finds_its_file(target: str, symbol: str, file: str) -> None:
    (answer,) = await _ask(
        target, [reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)]
    )
    assert _files(answer)[0].name == file


async def test_every_public_method_resolves_and_internal_ones_do_not(target: str) -> None:
    internal = internal_services(contracts.method_policies())
    methods = [
        (method.full_name, service.full_name in internal)
        for file in contracts.proto_files()
        for service in file.services_by_name.values()
        for method in service.methods
    ]
    requests = [
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=name) for name, _ in methods
    ]
    answers = await _ask(target, requests)
    assert len(answers) == len(methods) > 50
    for (name, hidden), answer in zip(methods, answers, strict=True):
        found = answer.WhichOneof("message_response") == "file_descriptor_response"
        assert found != hidden, name  # internal services are off the public port's reflection
    assert any(hidden for _, hidden in methods)


async def test_an_unknown_symbol_is_not_found(target: str) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="paycore.v1.Nope.Get")
    (answer,) = await _ask(target, [request])
    assert answer.error_response.error_code == 5  # NOT_FOUND


def test_symbols_cover_methods_fields_and_enum_values() -> None:
    (payment,) = [file for file in contracts.proto_files() if file.name.endswith("/payment.proto")]
    symbols = set(symbols_of(payment))
    assert "paycore.v1.PaymentService.CapturePaymentIntent" in symbols
    assert "paycore.v1.CapturePaymentIntentRequest.amount_to_capture" in symbols
    assert "paycore.v1.REFUND_STATUS_SUCCEEDED" in symbols


async def _ask_v1(target: str, request: reflection_pb2.ServerReflectionRequest) -> Any:
    """One request to grpc.reflection.v1.ServerReflection, the service grpcurl, buf curl and
    Postman ask first (v1 and v1alpha have the same messages; only the package differs)."""
    async with aio.insecure_channel(target) as channel:
        call = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (answer,) = [answer async for answer in call(iter([request]))]
        return answer


async def test_reflection_v1_answers_as_v1alpha_does(target: str) -> None:
    listed = await _ask_v1(target, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {service.name for service in listed.list_services_response.service}
    assert {
        "paycore.v1.PaymentService",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="paycore.v1.PaymentService.CreatePaymentIntent"
    )
    assert _files(await _ask_v1(target, request))[0].name == "paycore/v1/payment.proto"


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_each_reflection_service_describes_itself(target: str, version: str) -> None:
    # grpcurl's `describe` of a listed service: every listed name resolves to its file.
    symbol = f"grpc.reflection.{version}.ServerReflection"
    (answer,) = await _ask(
        target, [reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)]
    )
    (file, *_) = _files(answer)
    assert file.package == f"grpc.reflection.{version}"
    assert [service.name for service in file.service] == ["ServerReflection"]
