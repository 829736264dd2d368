"""A header that decides who calls, for whom, or which answer is replayed is taken once: given
twice (two `authorization` values, two `paycore-merchant`, two `idempotency-key`) the call is
refused naming it, rather than answered for whichever value came first (a proxy that appends
its own credential after the client's would have the client's win)."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, connect, error_details
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
