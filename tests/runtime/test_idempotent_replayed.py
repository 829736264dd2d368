"""A replayed answer says so (as Stripe's `Idempotent-Replayed: true`): every answer that came
from the idempotency store, a completed call's or its stored error, carries the trailing
metadata `paycore-idempotent-replayed: true`; a fresh execution never does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from grpc import aio
from paycore.app import Platform
from paycore.runtime.context import CallContext, Caller, CallerKind, begin_call
from paycore.runtime.messages import Converter
from paycore.runtime.mutations import FinalAnswer, Mutations
from paycore.runtime.policy import Access, MethodPolicy, RateClass
from paycore.storage import IdempotencyStore
from paycore.tools.psp import cards
from paycore.v1 import account_pb2, customer_pb2, payment_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.helpers import MerchantFixture, rich_error
from tests.payment.shop import Shop, good_card

REPLAYED_HEADER = "paycore-idempotent-replayed"


async def answered(call: Any) -> tuple[Any, dict[str, Any]]:
    """The call's answer and its trailing metadata."""
    response = await call
    return response, dict(await call.trailing_metadata() or ())


def keyed(key: str) -> tuple[tuple[str, str], ...]:
    return (("idempotency-key", key),)


async def test_a_replayed_create_customer_says_so(merchant: MerchantFixture) -> None:
    request = customer_pb2.CreateCustomerRequest(email="ada@example.com", name="Ada")
    customers = merchant.client.customers
    first, fresh = await answered(customers.CreateCustomer(request, metadata=keyed("cus-1")))
    again, replayed = await answered(customers.CreateCustomer(request, metadata=keyed("cus-1")))
    assert again.id == first.id
    assert REPLAYED_HEADER not in fresh and "x-request-id" in fresh
    assert replayed[REPLAYED_HEADER] == "true"
    assert "x-request-id" in replayed  # the request id is still there
    other, unkeyed = await answered(customers.CreateCustomer(request))
    assert other.id != first.id and REPLAYED_HEADER not in unkeyed


async def test_a_replayed_confirmed_payment_says_so(shop: Shop) -> None:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=2500, currency="usd", payment_method=await shop.card(good_card()), confirm=True
    )
    payments = shop.client.payments
    first, fresh = await answered(payments.CreatePaymentIntent(request, metadata=keyed("pay-1")))
    again, replayed = await answered(payments.CreatePaymentIntent(request, metadata=keyed("pay-1")))
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (again.id, again.status) == (first.id, first.status)
    assert REPLAYED_HEADER not in fresh
    assert replayed[REPLAYED_HEADER] == "true"
    await shop.assert_books_balance()


async def test_a_replayed_declined_payment_says_so(shop: Shop) -> None:
    """A decline is the confirmed call's answer (an intent needing another method): its replay
    is marked as any other."""
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=700,
        currency="usd",
        payment_method=await shop.card(cards.CARD_DECLINED),
        confirm=True,
    )
    payments = shop.client.payments
    first, fresh = await answered(payments.CreatePaymentIntent(request, metadata=keyed("dec-1")))
    again, replayed = await answered(payments.CreatePaymentIntent(request, metadata=keyed("dec-1")))
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert again.id == first.id
    assert REPLAYED_HEADER not in fresh and replayed[REPLAYED_HEADER] == "true"


async def test_a_replayed_error_says_so(shop: Shop) -> None:
    """A final error is stored with the key; its replay is marked, the first answer is not."""
    intent = await shop.pay(good_card())
    cancel = payment_pb2.CancelPaymentIntentRequest(id=intent.id)
    errors = []
    for _ in range(2):
        with pytest.raises(aio.AioRpcError) as raised:
            await shop.client.payments.CancelPaymentIntent(cancel, metadata=keyed("cancel-1"))
        errors.append(rich_error(raised.value))
    first, again = errors
    assert first.reason == again.reason and first.reason
    assert REPLAYED_HEADER not in first.trailing
    assert again.trailing[REPLAYED_HEADER] == "true"


async def test_a_key_reused_for_another_request_is_no_replay(merchant: MerchantFixture) -> None:
    customers = merchant.client.customers
    await customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="a@example.com"), metadata=keyed("cus-2")
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(email="b@example.com"), metadata=keyed("cus-2")
        )
    refused = rich_error(raised.value)
    assert refused.reason == "IDEMPOTENCY_KEY_REUSED"
    assert REPLAYED_HEADER not in refused.trailing


async def test_a_replay_decided_in_a_group_commit_marks_its_own_call(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """Grouped first phases run in the group commit's task, where no call's context is: the
    fact that an answer is a replay comes back with the answer, and marks the call that asked
    for it, not the one whose task started the group (nor a fresh call beside it)."""
    merchant_id = merchant.merchant.id
    mutations = Mutations(
        platform.shards, IdempotencyStore(), timedelta(seconds=30), first_phase_group_max=8
    )
    render: Converter[account_pb2.SellerAccount, account_pb2.SellerAccount] = Converter(
        account_pb2.SellerAccount, lambda account: account
    )
    policy = MethodPolicy(Access.SECRET, "", RateClass.OTHER, mutating=True)
    caller = Caller(CallerKind.SECRET_KEY, merchant_id, "test")

    async def phased(key: str) -> CallContext:
        call = CallContext("/test/Phased", f"req-{key}", policy, caller, idempotency_key=key)
        begin_call(call)  # in this task only (asyncio.gather runs each in a task of its own)
        request = account_pb2.CreateSellerAccountRequest(email=f"{key}@x.test")

        async def record(connection: AsyncConnection) -> account_pb2.SellerAccount:
            return account_pb2.SellerAccount(id=f"acct_{key}", email=request.email)

        async def complete(
            subject_id: str, final: FinalAnswer[account_pb2.SellerAccount]
        ) -> account_pb2.SellerAccount:
            return account_pb2.SellerAccount(id=subject_id, email=request.email)

        answer = await mutations.phased(
            merchant_id, request, render, record, complete, grouped=True
        )
        assert answer.id == f"acct_{key}"
        return call

    firsts = await asyncio.gather(phased("g-1"), phased("g-2"))
    assert [call.replayed for call in firsts] == [False, False]
    again = await asyncio.gather(phased("g-1"), phased("g-3"), phased("g-2"))
    assert [call.replayed for call in again] == [True, False, True]
    await mutations.drained()
