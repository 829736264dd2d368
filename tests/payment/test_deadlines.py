"""A client that stops waiting (its deadline passed, it cancelled, it hung up) ends its call, not
the change the call began: a payment whose caller left while the PSP was charging is finished
and recorded (paycore.runtime.mutations), so a retry with its idempotency key is answered at
once with the one charge, never IDEMPOTENCY_KEY_IN_USE or `processing` for the rest of the
executor's lease, nor a second charge."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from paycore.client import replayed
from paycore.v1 import payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PAYIN_TIMINGS, PayIn, Shop, fee, good_card

PSP_LATENCY_MS = 300


async def _first_phase_committed(shop: Shop) -> None:
    """Returns once the intent's first phase has committed: it is listed, `processing`, and
    its charge is at the PSP."""
    for _ in range(100):
        listed = await shop.client.payments.ListPaymentIntents(
            payment_pb2.ListPaymentIntentsRequest()
        )
        if listed.data:
            assert listed.data[0].status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the intent's first phase never committed")


async def test_a_payment_whose_caller_left_mid_charge_is_finished_for_its_retry(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1500, currency="usd", payment_method=await shop.card(good_card()), confirm=True
    )
    key = (("idempotency-key", "left-mid-charge"),)
    await psp.set_faults(latency_ms=PSP_LATENCY_MS)
    first = shop.client.payments.CreatePaymentIntent(request, metadata=key)
    await _first_phase_committed(shop)
    first.cancel()  # what the server sees when a client's deadline passes
    with pytest.raises(asyncio.CancelledError):
        await first

    # The PSP has answered by now, well within the executor's lease.
    await asyncio.sleep(2 * PSP_LATENCY_MS / 1000)
    assert PAYIN_TIMINGS["executor_lease_ms"] > 3 * PSP_LATENCY_MS
    await psp.set_faults(latency_ms=0)
    call = shop.client.payments.CreatePaymentIntent(request, metadata=key)
    intent = await call

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert await replayed(call)  # the first call's answer: it finished without its caller
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert [found.id for found in listed.data] == [intent.id]
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_short_deadline_ends_the_call_with_deadline_exceeded_and_charges_once(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    """Wherever the deadline falls (before the first phase, during it, at the PSP), the retry
    charges once: the first call's answer, or a first execution when it did nothing."""
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1600, currency="usd", payment_method=await shop.card(good_card()), confirm=True
    )
    key = (("idempotency-key", "short-deadline"),)
    await psp.set_faults(latency_ms=PSP_LATENCY_MS)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreatePaymentIntent(request, metadata=key, timeout=0.05)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.sleep(2 * PSP_LATENCY_MS / 1000)
    await psp.set_faults(latency_ms=0)

    intent = await shop.client.payments.CreatePaymentIntent(request, metadata=key)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    listed = await shop.client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest())
    assert [found.id for found in listed.data] == [intent.id]
    assert (await shop.balance())[1] == {"usd": 1600 - fee(1600)}
    await shop.assert_books_balance()
