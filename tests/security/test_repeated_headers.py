"""A header that decides who calls, for whom, or which answer is replayed is taken once: given
twice (two `authorization` values, two `paycore-merchant`, two `idempotency-key`) the call is
refused naming it, rather than answered for whichever value came first (a proxy that appends
its own credential after the client's would have the client's win)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from aiohttp import ClientSession
from grpc import aio
from multidict import CIMultiDict
from paycore.client import Paycore, connect, error_details
from paycore.edge import start_edge
from paycore.v1 import account_pb2, customer_pb2

from tests.helpers import MerchantFixture


async def test_two_keys_are_refused_not_the_first_taken(
    merchant: MerchantFixture, other_merchant: MerchantFixture, target: str
) -> None:
    other_key = (("authorization", f"Bearer {other_merchant.merchant.secret_key}"),)
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id=merchant.merchant.id), metadata=other_key
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    details = error_details(raised.value)
    assert (details.reason, details.param) == ("API_KEY_INVALID", "authorization")


async def test_two_merchants_acted_for_are_refused(
    admin: Paycore, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    both = (
        ("paycore-merchant", merchant.merchant.id),
        ("paycore-merchant", other_merchant.merchant.id),
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.customers.ListCustomers(customer_pb2.ListCustomersRequest(), metadata=both)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(raised.value).param == "paycore-merchant"


async def test_two_idempotency_keys_are_refused_and_nothing_is_made(
    merchant: MerchantFixture,
) -> None:
    keys = (("idempotency-key", "first-of-two"), ("idempotency-key", "second-of-two"))
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(name="Twice"), metadata=keys
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error_details(raised.value)
    assert (details.reason, details.param) == ("IDEMPOTENCY_KEY_INVALID", "idempotency-key")
    listed = await merchant.client.customers.ListCustomers(customer_pb2.ListCustomersRequest())
    assert list(listed.data) == []


async def test_one_of_each_is_taken(merchant: MerchantFixture, target: str) -> None:
    async with connect(target, merchant.merchant.secret_key) as client:
        found = await client.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id=merchant.merchant.id),
            metadata=(("paycore-merchant", merchant.merchant.id),),
        )
    assert found.id == merchant.merchant.id


# The REST edge: the same three headers given twice over HTTP are refused as over gRPC, where the
# edge passed on the first value only (a customer was made under the first of two
# Idempotency-Keys, the first of two keys or acted-for merchants was the one that acted).


@pytest_asyncio.fixture
async def edge(target: str) -> AsyncIterator[ClientSession]:
    server = await start_edge(target, "127.0.0.1:0", operator_routes=True)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{server.port}") as session:
            yield session
    finally:
        await server.close()


async def test_the_edge_refuses_two_idempotency_keys_and_makes_nothing(
    merchant: MerchantFixture, edge: ClientSession
) -> None:
    headers = CIMultiDict(
        [
            ("Authorization", f"Bearer {merchant.merchant.secret_key}"),
            ("Idempotency-Key", "first-of-two"),
            ("Idempotency-Key", "second-of-two"),
        ]
    )
    async with edge.post("/v1/customers", data={"name": "Twice"}, headers=headers) as answer:
        assert answer.status == 400
        error = (await answer.json())["error"]
    assert (error["code"], error["param"]) == ("idempotency_key_invalid", "idempotency-key")
    listed = await merchant.client.customers.ListCustomers(customer_pb2.ListCustomersRequest())
    assert list(listed.data) == []


async def test_the_edge_refuses_two_keys_not_the_first_taken(
    merchant: MerchantFixture, other_merchant: MerchantFixture, edge: ClientSession
) -> None:
    headers = CIMultiDict(
        [
            ("Authorization", f"Bearer {merchant.merchant.secret_key}"),
            ("Authorization", f"Bearer {other_merchant.merchant.secret_key}"),
        ]
    )
    async with edge.get("/v1/account", headers=headers) as answer:
        assert answer.status == 401
        error = (await answer.json())["error"]
    assert (error["code"], error["param"]) == ("api_key_invalid", "authorization")


async def test_the_edge_refuses_two_merchants_acted_for(
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
    edge: ClientSession,
    settings_admin_token: str,
) -> None:
    headers = CIMultiDict(
        [
            ("Authorization", f"Bearer {settings_admin_token}"),
            ("Paycore-Merchant", merchant.merchant.id),
            ("Paycore-Merchant", other_merchant.merchant.id),
        ]
    )
    async with edge.get("/v1/customers", headers=headers) as answer:
        assert answer.status == 400
        error = (await answer.json())["error"]
    assert error["param"] == "paycore-merchant"
