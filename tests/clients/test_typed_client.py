"""paycore.client's defaults: a deadline on every call, UNAVAILABLE retried by the channel's
service config for calls that do not mutate or carry an idempotency key (a retry is a replay).

A stand-in gRPC server (grpc.aio, generic handlers) answers UNAVAILABLE a chosen number of
times and records what each attempt carried; the real server shows the retried mutation is
applied once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from paycore.client import Paycore, connect, idempotency_key, replayed
from paycore.client.service_config import mutating_methods
from paycore.v1 import account_pb2, checkout_pb2, currency_pb2, customer_pb2

from tests.customer.support import new_card
from tests.helpers import MerchantFixture


@dataclass
class Flaky:
    """Answers UNAVAILABLE `failures` times, then OK; or never answers when `hang`."""

    failures: int = 0
    hang: bool = False
    attempts: list[dict[str, str]] = field(default_factory=list)

    async def behave(self, request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
        metadata = context.invocation_metadata() or ()
        self.attempts.append({key: str(value) for key, value in metadata})
        if self.hang:
            await asyncio.sleep(30)
        if len(self.attempts) <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return customer_pb2.Customer(id="cus_x").SerializeToString()


class _Handlers(grpc.GenericRpcHandler):
    def __init__(self, flaky: Flaky) -> None:
        self._flaky = flaky

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        return grpc.unary_unary_rpc_method_handler(self._flaky.behave)


@pytest_asyncio.fixture
async def flaky() -> AsyncIterator[tuple[str, Flaky]]:
    behaviour = Flaky()
    server = aio.server()
    server.add_generic_rpc_handlers((_Handlers(behaviour),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", behaviour
    finally:
        await server.stop(0)


async def test_a_mutating_call_without_a_key_is_not_retried(flaky: tuple[str, Flaky]) -> None:
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x") as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(behaviour.attempts) == 1  # a second attempt could create a second customer
        assert behaviour.attempts[0]["authorization"] == "Bearer sk_test_x"
        assert "idempotency-key" not in behaviour.attempts[0]


async def test_the_callers_key_is_kept_and_reads_are_retried(flaky: tuple[str, Flaky]) -> None:
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x") as client:
        await client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(), metadata=idempotency_key("mine-1")
        )
        assert [attempt["idempotency-key"] for attempt in behaviour.attempts] == ["mine-1"] * 2
        behaviour.attempts.clear()
        await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id="cus_x"))
    assert len(behaviour.attempts) == 2
    assert all("idempotency-key" not in attempt for attempt in behaviour.attempts)


async def test_reads_of_every_service_are_retried(flaky: tuple[str, Flaky]) -> None:
    """The checkout and currency stubs too: their reads were sent without the retry policy
    (the service config named every service but those two), so one UNAVAILABLE failed them."""
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x") as client:
        await client.checkout.GetCheckoutSession(checkout_pb2.GetCheckoutSessionRequest(id="cs_x"))
        assert len(behaviour.attempts) == 2
        behaviour.attempts.clear()
        await client.currencies.ListExchangeRates(currency_pb2.ListExchangeRatesRequest())
        assert len(behaviour.attempts) == 2
        behaviour.attempts.clear()
        await client.checkout.ExpireCheckoutSession(
            checkout_pb2.ExpireCheckoutSessionRequest(id="cs_x"), metadata=idempotency_key("e-1")
        )
        assert [attempt["idempotency-key"] for attempt in behaviour.attempts] == ["e-1"] * 2


async def test_retries_give_up_after_four_attempts(flaky: tuple[str, Flaky]) -> None:
    target, behaviour = flaky
    behaviour.failures = 10
    async with connect(target, "sk_test_x") as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id="cus_x"))
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(behaviour.attempts) == 4


async def test_without_retries_nothing_is_retried(flaky: tuple[str, Flaky]) -> None:
    target, behaviour = flaky
    behaviour.failures = 2
    async with connect(target, "sk_test_x", retries=False) as client:
        with pytest.raises(aio.AioRpcError):
            await client.customers.CreateCustomer(
                customer_pb2.CreateCustomerRequest(), metadata=idempotency_key("k")
            )
        with pytest.raises(aio.AioRpcError):
            await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id="cus_x"))
    assert len(behaviour.attempts) == 2  # one each


async def test_every_call_has_a_deadline(flaky: tuple[str, Flaky]) -> None:
    target, behaviour = flaky
    behaviour.hang = True
    async with connect(target, "sk_test_x", timeout_seconds=0.2) as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id="cus_x"))
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        with pytest.raises(aio.AioRpcError) as own:  # a call's own timeout wins
            await client.customers.GetCustomer(
                customer_pb2.GetCustomerRequest(id="cus_x"), timeout=0.1
            )
        assert own.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_mutating_methods_come_from_the_contract() -> None:
    methods = mutating_methods()
    assert "/paycore.v1.PaymentService/CreatePaymentIntent" in methods
    assert "/paycore.v1.CustomerService/CreateCustomer" in methods
    assert "/paycore.v1.PaymentService/GetPaymentIntent" not in methods


async def test_against_paycore_a_keyed_mutation_and_a_read(merchant: MerchantFixture) -> None:
    request = account_pb2.CreateSellerAccountRequest(
        email="a@seller.test", country="US", default_currency="usd"
    )
    first = await merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-1")
    )
    again = await merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-1")
    )
    other = await merchant.client.accounts.CreateSellerAccount(request)  # the keyless channel
    assert first.id == again.id != other.id
    read = await merchant.client.accounts.GetSellerAccount(
        account_pb2.GetSellerAccountRequest(id=first.id)
    )
    assert read.id == first.id


async def test_a_caller_learns_whether_an_answer_was_a_replay(merchant: MerchantFixture) -> None:
    """`replayed(call)` reads the call's trailing `paycore-idempotent-replayed` marker: false
    on the first execution, true on the replay with the same key (over the retrying channel),
    false on a keyless call (over the other channel); a replayed error says so too."""
    request = account_pb2.CreateSellerAccountRequest(
        email="r@seller.test", country="US", default_currency="usd"
    )
    first = merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-replay")
    )
    created = await first  # a call starts when it is made: the replay after the first answer
    again = merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-replay")
    )
    assert created.id == (await again).id
    assert (await replayed(first), await replayed(again)) == (False, True)
    keyless = merchant.client.accounts.CreateSellerAccount(request)
    await keyless
    assert not await replayed(keyless)

    gone = await merchant.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    await merchant.client.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(id=gone.id))
    card = await new_card(merchant.client)
    missing = customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=gone.id)
    errors = []
    for _ in range(2):
        with pytest.raises(aio.AioRpcError) as raised:
            await merchant.client.customers.AttachPaymentMethod(
                missing, metadata=idempotency_key("attach-missing")
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        errors.append(raised.value)
    assert [await replayed(error) for error in errors] == [False, True]


CLIENT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


async def test_docs_name_every_stub_of_the_client() -> None:
    """docs/client.md lists the `Paycore` attributes a caller reaches each service by."""
    docs = await asyncio.to_thread(CLIENT_DOCS.read_text)
    listed = re.search(r"one typed stub per service \(([^)]*)\)", docs, flags=re.DOTALL)
    assert listed is not None
    named = re.findall(r"`(\w+)`", listed.group(1))
    client = Paycore(aio.insecure_channel("127.0.0.1:1"))  # never connects: no call is made
    try:
        stubs = [
            name for name, stub in vars(client).items() if type(stub).__name__.endswith("Stub")
        ]
    finally:
        await client.close()
    assert named == stubs
