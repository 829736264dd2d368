"""The bank answering late, losing its answer or being down: the payout waits, is retried with
the same key (its id), unknown outcomes are resolved by asking the bank, and the bank gets
exactly one payout."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from paycore.executor.models import ExecutionState
from paycore.v1 import payout_pb2

from tests.helpers import http_get
from tests.payout.support import ANSWER_LOST, TIMES_OUT, PayoutShop, World

P = payout_pb2


async def bank_submissions(world: World, payout_id: str) -> int:
    day = dt.datetime.fromtimestamp(world.clock.now, dt.UTC).date().isoformat()
    report = await asyncio.to_thread(http_get, f"{world.psp.url}/v1/bank/payouts_report/{day}")
    lines = [json.loads(line) for line in report.splitlines()]
    return sum(
        1 for line in lines if line["type"] == "submitted" and line["reference"] == payout_id
    )


async def _funded(world: World, number: str) -> PayoutShop:
    shop = await world.shop()
    await shop.charge(10_000)
    await shop.bank_account(number)
    await world.advance(2)
    return shop


async def _send_until_settled(world: World, shop: PayoutShop, payout_id: str) -> P.Payout:
    """The request's own send, then the worker's resumes (after leases) until it is final."""
    payouts = world.platform.pay_out
    await payouts.payouts.send(await payouts.reads.payout(shop.id, payout_id))
    for _ in range(40):
        payout = await shop.get_payout(payout_id)
        if payout.status != P.PAYOUT_STATUS_PENDING:
            return payout
        await asyncio.sleep(0.2)
        for engine in world.platform.shards.engines:
            await world.platform.pay_in.executor.resume_due(engine)
    raise AssertionError(f"payout {payout_id} never left pending")


async def test_a_lost_answer_is_resolved_by_a_status_query(world: World) -> None:
    shop = await _funded(world, ANSWER_LOST)
    payout = await shop.payout(2000)
    sent = await _send_until_settled(world, shop, payout.id)
    assert sent.status == P.PAYOUT_STATUS_IN_TRANSIT
    execution = await world.platform.pay_in.executor.get(
        shop.id, (await world.platform.pay_out.reads.payout(shop.id, payout.id)).execution_id
    )
    assert execution.state is ExecutionState.SUCCEEDED
    assert any(attempt.kind.value == "status_query" for attempt in execution.attempts)
    assert await bank_submissions(world, payout.id) == 1
    await world.advance(2)
    assert (await shop.get_payout(payout.id)).status == P.PAYOUT_STATUS_PAID
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_bank_that_times_out_is_asked_not_paid_twice(world: World) -> None:
    shop = await _funded(world, TIMES_OUT)
    payout = await shop.payout(2000)
    sent = await _send_until_settled(world, shop, payout.id)
    assert sent.status == P.PAYOUT_STATUS_IN_TRANSIT
    assert await bank_submissions(world, payout.id) == 1
    await shop.assert_clean()
    await shop.close()


async def test_a_bank_that_is_down_gets_the_payout_once_it_is_back(world: World) -> None:
    shop = await _funded(world, "000123456789")
    payout = await shop.payout(2000)
    await world.psp.set_faults(down=True)
    payouts = world.platform.pay_out
    await payouts.payouts.send(await payouts.reads.payout(shop.id, payout.id))
    assert (await shop.get_payout(payout.id)).status == P.PAYOUT_STATUS_PENDING
    await world.psp.set_faults(down=False)
    await asyncio.sleep(0.7)  # the breaker's open time passes
    execution_id = (await payouts.reads.payout(shop.id, payout.id)).execution_id
    executor = world.platform.pay_in.executor
    execution = await executor.get(shop.id, execution_id)
    if execution.state is ExecutionState.DEAD_LETTERED:
        await executor.requeue(shop.id, execution_id)
    sent = await _send_until_settled(world, shop, payout.id)
    assert sent.status == P.PAYOUT_STATUS_IN_TRANSIT
    assert await bank_submissions(world, payout.id) == 1
    await shop.assert_clean()
    await shop.close()
