"""What the executor does when the PSP misbehaves: unknown outcomes resolved by a status query,
transient failures retried and then dead-lettered, the circuit breaker failing fast while the
PSP is down. Nothing is ever charged twice and the books always balance."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator

import pytest
from paycore.executor.breaker import CircuitBreaker, Mode
from paycore.psp.client import PspClient
from paycore.tools.psp import cards
from paycore.v1 import executor_pb2, payment_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import PspSimulator, create_merchant
from tests.payment.shop import PayIn, Shop, fee, good_card

REQUEST = executor_pb2.EXECUTION_ATTEMPT_KIND_REQUEST
STATUS_QUERY = executor_pb2.EXECUTION_ATTEMPT_KIND_STATUS_QUERY


async def _execution_of(shop: Shop, intent: str) -> executor_pb2.Execution:
    found = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_intent=intent)
    )
    (listed,) = found.data
    return await shop.operator.executor.GetExecution(executor_pb2.GetExecutionRequest(id=listed.id))


async def _intent(shop: Shop, intent: str) -> payment_pb2.PaymentIntent:
    return await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent)
    )


async def test_a_lost_answer_is_found_by_a_status_query_and_charged_once(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    intent = await shop.pay(cards.CARD_ANSWER_LOST, 1200)  # settled by the worker's pass

    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    execution = await _execution_of(shop, intent.id)
    assert [attempt.kind for attempt in execution.attempts][:2] == [REQUEST, STATUS_QUERY]
    assert execution.attempts[0].outcome == executor_pb2.EXECUTION_ATTEMPT_OUTCOME_TIMEOUT
    async with _psp(psp) as client:
        charge = await client.lookup(execution.idempotency_key)
    assert charge is not None and charge.status == "captured"
    assert execution.psp_reference == charge.reference
    assert (await shop.balance())[1] == {"usd": 1200 - fee(1200)}
    await shop.assert_books_balance()


async def test_a_psp_that_never_answers_ends_dead_lettered_without_a_charge(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    intent = await shop.pay(cards.CARD_TIMES_OUT, 800, as_answered=True)
    for _ in range(30):
        execution = await _execution_of(shop, intent.id)
        if execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED:
            break
        await asyncio.sleep(0.2)
        await payin.run_worker_once()

    assert execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED
    kinds = [attempt.kind for attempt in execution.attempts]
    assert kinds.count(REQUEST) == 3  # PAYCORE_EXECUTOR_MAX_ATTEMPTS in these tests
    assert all(
        after == STATUS_QUERY for before, after in itertools.pairwise(kinds) if before == REQUEST
    ), kinds  # every timed-out request is followed by a status query, never by a resend
    async with _psp(psp) as client:
        assert await client.lookup(execution.idempotency_key) is None
    dead = await shop.operator.executor.ListDeadLetters(
        executor_pb2.ListDeadLettersRequest(merchant=shop.id)
    )
    assert [found.id for found in dead.data] == [execution.id]
    # Held, not failed: an operator decides (requeue); no money moved.
    assert (await _intent(shop, intent.id)).status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    assert (await shop.balance())[1] in ({}, {"usd": 0})
    await shop.assert_books_balance()


async def test_transient_errors_are_retried_then_dead_lettered_and_requeue_runs_it_again(
    shop: Shop, payin: PayIn
) -> None:
    intent = await shop.pay(cards.CARD_PSP_ERROR, 500, as_answered=True)
    for _ in range(30):
        execution = await _execution_of(shop, intent.id)
        if execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED:
            break
        await asyncio.sleep(0.2)
        await payin.run_worker_once()
    assert execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED
    assert [attempt.outcome for attempt in execution.attempts] == [
        executor_pb2.EXECUTION_ATTEMPT_OUTCOME_RETRYABLE_ERROR
    ] * 3
    assert execution.failure_code == "psp_error"
    await asyncio.sleep(0.7)  # three failures opened the breaker: wait for its trial

    requeued = await shop.operator.executor.RequeueDeadLetter(
        executor_pb2.RequeueDeadLetterRequest(id=execution.id)
    )

    assert len(requeued.attempts) > 3
    assert requeued.state in (
        executor_pb2.EXECUTION_STATE_RETRY_SCHEDULED,
        executor_pb2.EXECUTION_STATE_DEAD_LETTERED,
    )
    await shop.assert_books_balance()


async def test_the_breaker_opens_while_the_psp_is_down_and_closes_after(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    executor = payin.platform.pay_in.executor
    await psp.set_faults(down=True)
    first = await shop.pay(good_card(), 400, as_answered=True)
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    failed = await _execution_of(shop, first.id)
    assert failed.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED
    assert executor.breakers.of(Mode.TEST).state == "open"
    assert _gauge(payin, "paycore_executor_breaker_open", mode="test") == 1.0

    # While it is open a payment fails fast: its execution waits without calling the PSP.
    second = await shop.pay(good_card(), 600, as_answered=True)
    assert second.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
    assert list((await _execution_of(shop, second.id)).attempts) == []

    await psp.set_faults(down=False)
    await asyncio.sleep(0.7)  # PAYCORE_PSP_BREAKER_OPEN_MS in these tests: now half-open
    retried = await shop.operator.executor.RequeueDeadLetter(
        executor_pb2.RequeueDeadLetterRequest(id=failed.id)
    )
    assert retried.state == executor_pb2.EXECUTION_STATE_SUCCEEDED
    assert executor.breakers.of(Mode.TEST).state == "closed"
    assert _gauge(payin, "paycore_executor_breaker_open", mode="test") == 0.0
    for intent in (first, second):
        finished = await shop.settled(intent.id, rounds=40)
        assert finished.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await shop.balance())[1] == {"usd": 1000 - fee(400) - fee(600)}
    await shop.assert_books_balance()


async def test_test_mode_failures_never_open_the_breaker_for_live_merchants(
    shop: Shop, payin: PayIn
) -> None:
    """The simulator's transient-failure card, paid by a test merchant until its execution is
    dead-lettered, opens the test breaker; a live merchant's payment made while it is open
    still goes to the PSP at once and succeeds."""
    executor = payin.platform.pay_in.executor
    live = await create_merchant(payin.admin, payin.target, "Live Co", livemode=True)
    async with live.client as client:
        live_card = await Shop(live.merchant, client, shop.operator, shop.worker_pass).card(
            good_card()
        )
        failing = await shop.pay(cards.CARD_PSP_ERROR, 500, as_answered=True)
        for _ in range(30):
            execution = await _execution_of(shop, failing.id)
            if execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED:
                break
            await asyncio.sleep(0.05)
            await payin.run_worker_once()
        assert execution.state == executor_pb2.EXECUTION_STATE_DEAD_LETTERED
        assert executor.breakers.of(Mode.TEST).state == "open"

        paid = await client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=700, currency="usd", payment_method=live_card, confirm=True
            )
        )

    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    # Still within PAYCORE_PSP_BREAKER_OPEN_MS: the test breaker was open all along.
    assert executor.breakers.of(Mode.TEST).state == "open"
    assert _gauge(payin, "paycore_executor_breaker_open", mode="test") == 1.0
    assert executor.breakers.of(Mode.LIVE).state == "closed"
    assert _gauge(payin, "paycore_executor_breaker_open", mode="live") == 0.0


@contextlib.asynccontextmanager
async def _psp(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = PspClient(psp.url)
    try:
        yield client
    finally:
        await client.close()


def _gauge(payin: PayIn, name: str, **labels: str) -> float | None:
    return payin.registry.get_sample_value(name, labels)


async def test_a_test_mode_backlog_behind_its_open_breaker_never_holds_live_retries(
    shop: Shop, payin: PayIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker takes the oldest due executions first, a batch at a time. While the test
    breaker is open, test-mode executions due before a live one are moved to the breaker's
    trial instead of staying at the head of the batch, so the live one is reached; on their
    own they would hold it for as long as the test breaker stays open."""
    executor = payin.platform.pay_in.executor
    live = await create_merchant(payin.admin, payin.target, "Live Retry Co", livemode=True)
    shard = payin.platform.shards.engine_for_merchant(live.merchant.id)
    test_breaker, live_breaker = executor.breakers.of(Mode.TEST), executor.breakers.of(Mode.LIVE)
    monkeypatch.setattr(test_breaker, "_open_seconds", 10.0)  # open throughout, trial after
    async with contextlib.AsyncExitStack() as clients:
        client = await clients.enter_async_context(live.client)
        live_shop = Shop(live.merchant, client, shop.operator, shop.worker_pass)
        live_card = await live_shop.card(good_card())
        backlog = await _test_shop_on(payin, shard, shop, clients)
        try:
            _open(test_breaker)
            waiting = [await backlog.pay(good_card(), 300 + n, as_answered=True) for n in range(3)]
            _open(live_breaker)  # the live payment is queued behind the test ones
            paid = await client.payments.CreatePaymentIntent(
                payment_pb2.CreatePaymentIntentRequest(
                    amount=700, currency="usd", payment_method=live_card, confirm=True
                )
            )
            live_breaker.record_success()
            assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
            for _ in range(10):  # the live one is due at its breaker's trial (the tests' 0.6 s)
                await asyncio.sleep(0.2)
                await executor.resume_due(shard, limit=2)
                found = await _intent(live_shop, paid.id)
                if found.status != payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING:
                    break
            assert test_breaker.state == "open"
            assert found.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
        finally:
            test_breaker.record_success()
        for intent in waiting:  # the backlog goes on at the breaker's trial
            finished = await backlog.settled(intent.id, rounds=60)
            assert finished.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
        await live_shop.assert_books_balance()
        await backlog.assert_books_balance()


def _open(breaker: CircuitBreaker) -> None:
    while breaker.state != "open":
        breaker.record_failure()


async def _test_shop_on(
    payin: PayIn, shard: AsyncEngine, shop: Shop, clients: contextlib.AsyncExitStack
) -> Shop:
    """A test merchant on `shard` (the head-of-line is a shard's batch): `shop` if it is."""
    for attempt in range(20):
        if payin.platform.shards.engine_for_merchant(shop.merchant.id) is shard:
            return shop
        made = await create_merchant(payin.admin, payin.target, f"Backlog Co {attempt}")
        if payin.platform.shards.engine_for_merchant(made.merchant.id) is shard:
            client = await clients.enter_async_context(made.client)
            return Shop(made.merchant, client, shop.operator, shop.worker_pass)
    raise AssertionError("no test merchant on the live merchant's shard")
