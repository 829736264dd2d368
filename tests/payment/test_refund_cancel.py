"""CancelRefund (Stripe's POST /v1/refunds/{id}/cancel): a pending refund not yet sent to the
PSP (here: left by a request that stopped after its first phase, as a crash leaves it) is
canceled, failure_reason merchant_request, its amount refundable again, refund.updated; the
executor never sends it; no money moved. Any other refund is FAILED_PRECONDITION
REFUND_NOT_CANCELABLE naming id, and changes nothing. The books balance."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from paycore.payment.refunds import NewRefund
from paycore.v1 import event_pb2, executor_pb2, payment_pb2

from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop, good_card


async def pending_refund(payin: PayIn, shop: Shop, intent: str, amount: int) -> str:
    """A refund's first phase alone (its execution queued, never attempted): what a request
    that stopped before the PSP call leaves until the worker resumes it."""
    platform = payin.platform
    new = NewRefund(
        payment_intent_id=intent, payment_order_id="", amount=amount, reason="", metadata={}
    )
    phases = platform.pay_in.refunds.phases(shop.id, new)
    async with platform.shards.transaction(shop.id) as connection:
        refund = await phases.record(connection)
    return refund.id


async def _refused(shop: Shop, refund_id: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CancelRefund(payment_pb2.CancelRefundRequest(id=refund_id))
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "REFUND_NOT_CANCELABLE",
        "id",
    )
    return str(raised.value.details())


async def _intent(shop: Shop, intent: str) -> payment_pb2.PaymentIntent:
    return await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent)
    )


async def test_a_pending_refund_is_canceled_and_its_amount_refundable_again(
    payin: PayIn, shop: Shop
) -> None:
    intent = await shop.pay(good_card(), 1000)
    balance = await shop.balance()
    refund_id = await pending_refund(payin, shop, intent.id, 400)
    assert (await _intent(shop, intent.id)).amount_refunded == 400  # reserved

    canceled = await shop.client.payments.CancelRefund(
        payment_pb2.CancelRefundRequest(id=refund_id),
        metadata=(("idempotency-key", "cancel-" + refund_id),),
    )
    assert (canceled.status, canceled.failure_reason, canceled.amount) == (
        payment_pb2.REFUND_STATUS_CANCELED,
        "merchant_request",
        400,
    )
    replayed = await shop.client.payments.CancelRefund(
        payment_pb2.CancelRefundRequest(id=refund_id),
        metadata=(("idempotency-key", "cancel-" + refund_id),),
    )
    assert replayed == canceled
    assert (await _intent(shop, intent.id)).amount_refunded == 0
    assert await shop.balance() == balance  # no money had moved, none moves back
    await payin.run_worker_once()
    again = await shop.client.payments.GetRefund(payment_pb2.GetRefundRequest(id=refund_id))
    assert again.status == payment_pb2.REFUND_STATUS_CANCELED  # the executor never sends it
    assert "it is canceled" in await _refused(shop, refund_id)

    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=refund_id, limit=10)
    )
    assert {event.type for event in events.data[:2]} == {"refund.updated", "charge.refund.updated"}
    updated = next(event for event in events.data if event.type == "refund.updated")
    assert "status" in updated.data.previous_attributes

    whole = await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_intent=intent.id)
    )
    assert (whole.status, whole.amount) == (payment_pb2.REFUND_STATUS_SUCCEEDED, 1000)
    assert "it is succeeded" in await _refused(shop, whole.id)
    await shop.assert_books_balance()


async def test_a_refund_the_worker_sent_is_not_canceled(payin: PayIn, shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1000)
    refund_id = await pending_refund(payin, shop, intent.id, 300)
    pay_in = payin.platform.pay_in
    execution = (await pay_in.refunds.get(shop.id, refund_id)).execution_id
    assert execution
    await pay_in.executor.run(shop.id, execution)
    assert "it is succeeded" in await _refused(shop, refund_id)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CancelRefund(
            payment_pb2.CancelRefundRequest(id="re_" + "0" * 22)
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await _intent(shop, intent.id)).amount_refunded == 300
    await shop.assert_books_balance()


async def test_a_dead_lettered_refund_is_not_canceled_and_says_why(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """A refund whose every attempt failed (the PSP down) is dead-lettered, not being sent:
    the refusal says so and names the way out (an operator's RequeueDeadLetter), which then
    completes it."""
    intent = await shop.pay(good_card(), 1000)
    await psp.set_faults(down=True)
    try:
        refund = await shop.client.payments.CreateRefund(
            payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=300)
        )
        assert refund.status == payment_pb2.REFUND_STATUS_PENDING
        message = await _refused(shop, refund.id)
    finally:
        await psp.set_faults(down=False)

    assert "dead-lettered" in message
    assert "being sent" not in message
    await asyncio.sleep(0.7)  # PAYCORE_PSP_BREAKER_OPEN_MS in these tests: now half-open
    found = await shop.operator.executor.ListDeadLetters(executor_pb2.ListDeadLettersRequest())
    (execution,) = [one for one in found.data if one.refund == refund.id]
    await shop.operator.executor.RequeueDeadLetter(
        executor_pb2.RequeueDeadLetterRequest(id=execution.id)
    )
    for _ in range(50):
        done = await shop.client.payments.GetRefund(payment_pb2.GetRefundRequest(id=refund.id))
        if done.status != payment_pb2.REFUND_STATUS_PENDING:
            break
        await asyncio.sleep(0.1)
    assert done.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert (await _intent(shop, intent.id)).amount_refunded == 300
    await shop.assert_books_balance()
