"""A billing run that dies mid-renewal: after the renewal's first transaction (invoice and
charge recorded, PSP not called), or after the PSP call (intent paid, invoice not settled).
The next run finishes it: one invoice, one charge, the money once in the ledger."""

from __future__ import annotations

import asyncio
import time

import pytest
from paycore.payment.models import IntentStatus
from paycore.v1 import executor_pb2, payment_pb2, subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PAYIN_TIMINGS, PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, Billed

S = subscription_pb2
FEB_28_2026 = JAN_31_2026 + 28 * 86_400


@pytest.mark.parametrize("dies", ["before_the_psp_call", "after_the_psp_call"])
async def test_a_renewal_interrupted_by_a_crash_is_finished_once(
    payin: PayIn, shop: Shop, dies: str
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    subscription = await billed.subscribe()
    await shop.client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billed.clock, frozen_time=FEB_28_2026)
    )
    platform = payin.platform
    async with platform.shards.transaction(shop.id) as connection:
        step = await platform.billing_clock.step(connection, shop.id, subscription.id)
    assert step.settle is not None  # the renewal's charge is recorded; the run "dies" here
    if dies == "after_the_psp_call":
        intent = await platform.billing.collection.charges.run(
            shop.id, (await billed.invoices(subscription.id))[1].payment_intent
        )
        assert intent is not None and intent.status is IntentStatus.SUCCEEDED

    await billed.drain()

    first, renewal = await billed.invoices(subscription.id)
    assert (renewal.status, renewal.amount_paid, renewal.attempt_count) == (
        S.INVOICE_STATUS_PAID,
        1500,
        1,
    )
    intents = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(customer=billed.customer)
    )
    assert sorted(intent.id for intent in intents.data) == sorted(
        [first.payment_intent, renewal.payment_intent]
    )
    assert (await shop.balance())[1] == {"usd": 2 * (1500 - fee(1500))}
    await shop.assert_books_balance()


async def test_a_charge_dead_lettered_at_the_psp_leaves_the_clock_ready_and_settles_on_requeue(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    subscription = await billed.subscribe()
    await psp.set_faults(down=True)

    await shop.client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billed.clock, frozen_time=FEB_28_2026)
    )
    await _drain_for(billed, seconds=20)

    _, parked = await billed.invoices(subscription.id)
    assert (parked.status, parked.amount_paid) == (S.INVOICE_STATUS_OPEN, 0)
    executions = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_intent=parked.payment_intent)
    )
    (execution,) = executions.data
    assert execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED

    await psp.set_faults(down=False)
    await asyncio.sleep(PAYIN_TIMINGS["psp_breaker_open_ms"] / 1000)  # the breaker half-opens
    await shop.operator.executor.RequeueDeadLetter(
        executor_pb2.RequeueDeadLetterRequest(id=execution.id)
    )
    await billed.drain()  # the clock is ready: one pass, which settles the answered charge

    _, settled = await billed.invoices(subscription.id)
    assert (settled.status, settled.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
    assert (await shop.balance())[1] == {"usd": 2 * (1500 - fee(1500))}
    await shop.assert_books_balance()


async def _drain_for(billed: Billed, seconds: float) -> None:
    """Billing passes until the clock is ready, in real time (the executor's retries and
    breaker run on the wall clock)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await billed.drain()
            return
        except AssertionError:
            await asyncio.sleep(0.1)
    raise AssertionError("the test clock never became ready")
