"""The in-line budget (PAYCORE_EXECUTOR_INLINE_WAIT_MS, 300 ms in these tests) bounds a request's
PSP calls in wall-clock time, the calls' own time counted: once it is spent no attempt or status
query starts in-line; the request answers `processing` and the worker finishes the execution.
Here each call that hangs takes the whole PSP timeout (400 ms), longer than the budget, so the
request makes its first attempt and no other."""

from __future__ import annotations

import asyncio

import pytest
from paycore.tools.psp import cards
from paycore.v1 import executor_pb2, payment_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PAYIN_TIMINGS, SHORT_INLINE_WAIT, PayIn, Shop, fee, good_card

E = executor_pb2
REQUEST, STATUS_QUERY = E.EXECUTION_ATTEMPT_KIND_REQUEST, E.EXECUTION_ATTEMPT_KIND_STATUS_QUERY
# Longer than a PSP call waits: every call (charges and status queries) times out.
HANGING_MS = PAYIN_TIMINGS["psp_timeout_ms"] + 200


@pytest.fixture
def payin_overrides() -> dict[str, object]:
    return SHORT_INLINE_WAIT


async def _execution_of(shop: Shop, intent: str) -> E.Execution:
    found = await shop.operator.executor.ListExecutions(
        E.ListExecutionsRequest(payment_intent=intent)
    )
    (listed,) = found.data
    return await shop.operator.executor.GetExecution(E.GetExecutionRequest(id=listed.id))


def _in_line_leftover(execution: E.Execution) -> None:
    """One request, timed out, and the execution left for the worker: a status query next
    (its outcome is unknown), due at its backoff; neither retried in-line nor given up."""
    assert [(one.kind, one.outcome) for one in execution.attempts] == [
        (REQUEST, E.EXECUTION_ATTEMPT_OUTCOME_TIMEOUT)
    ]
    assert execution.state == E.EXECUTION_STATE_UNKNOWN_OUTCOME
    assert execution.next_attempt > 0


async def test_a_hanging_psp_answers_processing_after_one_attempt_and_the_worker_charges_once(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    await psp.set_faults(latency_ms=HANGING_MS)

    intent = await shop.pay(good_card(), 1500, as_answered=True)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    _in_line_leftover(await _execution_of(shop, intent.id))

    await psp.set_faults(latency_ms=0)  # the PSP answers again: the worker finishes it
    for _ in range(40):
        await payin.run_worker_once()
        execution = await _execution_of(shop, intent.id)
        if execution.state == E.EXECUTION_STATE_SUCCEEDED:
            break
        await asyncio.sleep(0.05)

    assert execution.state == E.EXECUTION_STATE_SUCCEEDED
    assert execution.attempts[1].kind == STATUS_QUERY  # the unknown outcome looked up first
    found = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert found.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert psp.charges_for(intent.id) == ["captured"]  # one charge, whatever the PSP got when
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_charge_the_psp_never_answers_leaves_the_request_after_one_attempt(
    shop: Shop, psp: PspSimulator
) -> None:
    """The probe's case: the hanging card was tried, looked up and tried again in-line until it
    was dead-lettered (PAYCORE_EXECUTOR_MAX_ATTEMPTS attempts of a PSP timeout each)."""
    intent = await shop.pay(cards.CARD_TIMES_OUT, 900, as_answered=True)

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    _in_line_leftover(await _execution_of(shop, intent.id))
    assert psp.charges_for(intent.id) == []
    assert (await shop.balance())[1] in ({}, {"usd": 0})
    await shop.assert_books_balance()
