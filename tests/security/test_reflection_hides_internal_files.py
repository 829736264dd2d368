"""Issue 23, item 7, probed again: on the one public port, reflection neither lists the internal
services (Ledger, Executor, Reconciliation) nor finds them by name, yet asking for the file
that defines them (`file_by_filename: paycore/v1/ledger.proto`) or for the file of one of their
messages (`file_containing_symbol: paycore.v1.PostTransfersRequest`) answered the whole file,
the internal service and every method in it included. No answer may describe an internal
service; the messages stay describable (a public file may import them)."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paycore import contracts
from paycore.runtime.policy import internal_services

from tests.security.conftest import OpenServer

Request = reflection_pb2.ServerReflectionRequest


async def _services_described(target: str, requests: list[Request]) -> dict[str, set[str]]:
    """For each request (by its text), the full names of the services its answer's files
    define; an error answer is an empty set."""
    described: dict[str, set[str]] = {}
    async with aio.insecure_channel(target) as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]
        responses = stub.ServerReflectionInfo(iter(requests))
        async for response in responses:
            names: set[str] = set()
            for raw in response.file_descriptor_response.file_descriptor_proto:
                file = descriptor_pb2.FileDescriptorProto.FromString(raw)
                names |= {f"{file.package}.{service.name}" for service in file.service}
            described[str(response.original_request).strip()] = names
    return described


async def test_no_reflection_answer_describes_an_internal_service(
    open_server: OpenServer,
) -> None:
    internal = internal_services(contracts.method_policies())
    assert {"paycore.v1.LedgerService", "paycore.v1.ExecutorService"} <= internal
    files = contracts.proto_files()
    requests = [Request(file_by_filename=file.name) for file in files]
    requests += [
        Request(file_containing_symbol=message.full_name)
        for file in files
        for message in file.message_types_by_name.values()
    ]
    described = await _services_described(open_server.target, requests)
    assert len(described) == len(requests)
    leaks = {request: names & internal for request, names in described.items() if names & internal}
    assert not leaks, leaks
    # The public services are still described, by their file and by their name.
    public = await _services_described(
        open_server.target,
        [
            Request(file_by_filename="paycore/v1/customer.proto"),
            Request(file_containing_symbol="paycore.v1.PaymentService.CreatePaymentIntent"),
        ],
    )
    by_file, by_symbol = public.values()
    # Each answer carries its file's imports too (payment.proto imports fraud.proto and, for a
    # charge's shipping address, customer.proto, which imports subscription.proto for a
    # discount's coupon): the service asked for, and public services only.
    assert "paycore.v1.CustomerService" in by_file
    assert "paycore.v1.PaymentService" in by_symbol
    assert not (by_file | by_symbol) & internal, (by_file, by_symbol)
