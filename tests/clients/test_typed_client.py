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
from paycore.v1 import account_pb2, checkout_pb2, currency_pb2, customer_pb2, ledger_pb2

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


async def test_a_mutating_call_without_a_key_gets_one_and_is_retried(
    flaky: tuple[str, Flaky],
) -> None:
    """As Stripe's SDKs give every POST an Idempotency-Key: a mutating call the caller sent
    without a key gets a fresh one, made once per call, so its retry after UNAVAILABLE carries
    the same key (the server replays it) and the next call another. Before, such a call was
    never retried: one restart of the server failed it, though a retry could be made safe."""
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x") as client:
        await client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
        await client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    keys = [attempt["idempotency-key"] for attempt in behaviour.attempts]
    assert len(keys) == 3  # the first call's two attempts, the second call's one
    assert keys[0] == keys[1] != keys[2]
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", key) for key in keys)
    assert behaviour.attempts[0]["authorization"] == "Bearer sk_test_x"


async def test_without_generated_keys_a_keyless_mutation_is_not_retried(
    flaky: tuple[str, Flaky],
) -> None:
    """`idempotency_keys=False`: a mutating call goes as sent; without a key of the caller's
    it is not retried (a second attempt could apply the change twice)."""
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x", idempotency_keys=False) as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(behaviour.attempts) == 1
        assert "idempotency-key" not in behaviour.attempts[0]
        await client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(), metadata=idempotency_key("mine-2")
        )
        assert [attempt.get("idempotency-key") for attempt in behaviour.attempts[1:]] == ["mine-2"]


async def test_post_transfers_gets_no_generated_key(flaky: tuple[str, Flaky]) -> None:
    """The ledger's PostTransfers is left as sent: a key there limits a batch to one
    merchant's transfers, and its transfer ids already make a repeat answer EXISTS."""
    target, behaviour = flaky
    behaviour.failures = 1
    async with connect(target, "sk_test_x") as client:
        with pytest.raises(aio.AioRpcError):
            await client.ledger.PostTransfers(ledger_pb2.PostTransfersRequest())
    assert len(behaviour.attempts) == 1
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
    other = await merchant.client.accounts.CreateSellerAccount(request)  # a key of its own
    assert first.id == again.id != other.id
    read = await merchant.client.accounts.GetSellerAccount(
        account_pb2.GetSellerAccountRequest(id=first.id)
    )
    assert read.id == first.id


async def test_a_caller_learns_whether_an_answer_was_a_replay(merchant: MerchantFixture) -> None:
    """`replayed(call)` reads the call's trailing `paycore-idempotent-replayed` marker: false
    on the first execution, true on the replay with the same key (over the retrying channel),
    false on a call sent without a key (the client gives it a fresh one); a replayed error says
    so too."""
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


class _LosesFirstAnswer(grpc.GenericRpcHandler):
    """A stand-in for a network between the client and paycore that drops an answer: every
    call is passed on to paycore as it came (metadata included, and paycore's trailing metadata
    back); the first mutating call's
    answer is lost on the way back, the client seeing UNAVAILABLE after paycore did the work."""

    def __init__(self, upstream: aio.Channel) -> None:
        self._upstream = upstream
        self.lost: list[str] = []

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        forward: aio.UnaryUnaryMultiCallable[bytes, bytes] = self._upstream.unary_unary(method)

        async def behave(request: bytes, context: aio.ServicerContext[Any, Any]) -> bytes:
            metadata = tuple(
                (key, value)
                for key, value in context.invocation_metadata() or ()
                if not key.startswith(":") and key not in ("user-agent", "grpc-accept-encoding")
            )
            call = forward(request, metadata=metadata)
            answer: bytes = await call
            context.set_trailing_metadata(tuple(await call.trailing_metadata() or ()))
            if method in mutating_methods() and not self.lost:
                self.lost.append(method)
                await context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
            return answer

        return grpc.unary_unary_rpc_method_handler(behave)


async def test_an_answer_lost_on_the_way_is_retried_into_a_replay(
    merchant: MerchantFixture, target: str
) -> None:
    """A customer created without a key, whose answer the network lost after paycore stored
    the customer: the client's retry (with the key it generated) is answered from the stored
    answer, so the merchant has one customer, not two, and the caller gets it."""
    upstream = aio.insecure_channel(target)
    lossy = _LosesFirstAnswer(upstream)
    server = aio.server()
    server.add_generic_rpc_handlers((lossy,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with connect(f"127.0.0.1:{port}", merchant.merchant.secret_key) as client:
            call = client.customers.CreateCustomer(
                customer_pb2.CreateCustomerRequest(email="lost@answer.test")
            )
            customer = await call
            assert await replayed(call)  # the second attempt, answered from the store
    finally:
        await server.stop(0)
        await upstream.close()
    assert lossy.lost == ["/paycore.v1.CustomerService/CreateCustomer"]
    listed = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="lost@answer.test")
    )
    assert [found.id for found in listed.data] == [customer.id]
