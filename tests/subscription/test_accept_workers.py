"""Acceptance (issue 7): two workers running at once bill each period exactly once: one invoice
and one PSP charge per subscription and period, whether the workers are two concurrent billing
loops over platforms of their own (pools of their own, as two processes have) or two real
`paycore worker` processes. Also what races the API with itself or with the billing job:
concurrent creates under one key, and a change made while the clock renews."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter

import pytest
from grpc import aio
from paycore.app import Platform, build_jobs, build_platform
from paycore.v1 import subscription_pb2
from paycore.worker.job import Job
from prometheus_client import CollectorRegistry

from tests.helpers import PspSimulator, free_port, http_get, rich_error, server_environment
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    HOUR,
    Billing,
    add_months,
    captured,
    net,
    open_billing,
    utc,
)
from tests.subscription.support import BILLING_JOB, SETTLE_SECONDS_MAX

S = subscription_pb2
START = utc(2028, 1, 31, 6)
SUBSCRIPTIONS = 6
MONTHS = 3
AMOUNTS = [1000 + 7 * index for index in range(SUBSCRIPTIONS)]


async def _subscribed(billing: Billing) -> list[S.Subscription]:
    subscriptions = []
    for amount in AMOUNTS:
        price = await billing.price(amount)
        subscriptions.append(await billing.subscribe([(price, 1)]))
    return subscriptions


async def _assert_each_period_billed_once(
    billing: Billing, subscriptions: list[S.Subscription]
) -> None:
    expected_periods = [
        (add_months(START, month), add_months(START, month + 1)) for month in range(MONTHS + 1)
    ]
    for subscription, amount in zip(subscriptions, AMOUNTS, strict=True):
        invoices = await billing.invoices(subscription.id)
        assert [(each.period_start, each.period_end) for each in invoices] == expected_periods
        assert [(each.status, each.amount_paid) for each in invoices] == [
            (S.INVOICE_STATUS_PAID, amount)
        ] * (MONTHS + 1)
    charges = captured(billing.psp)
    assert Counter(charge.amount for charge in charges) == Counter(
        amount for amount in AMOUNTS for _ in range(MONTHS + 1)
    )
    # The simulator's reference is the payment intent: each invoice's, charged once.
    invoices = await billing.invoices()
    assert sorted(charge.reference for charge in charges) == sorted(
        invoice.payment_intent for invoice in invoices
    )
    numbers = [invoice.number for invoice in invoices]
    assert len(set(numbers)) == len(numbers) == SUBSCRIPTIONS * (MONTHS + 1)
    sequences = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequences == list(range(1, len(numbers) + 1))  # gapless, even under contention
    await billing.assert_books(net(amount for amount in AMOUNTS for _ in range(MONTHS + 1)))


async def test_two_concurrent_billing_loops_bill_each_period_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    subscriptions = await _subscribed(billing)
    other = build_platform(payin.platform.settings, CollectorRegistry())
    try:
        workers = [
            (platform, [job for job in build_jobs(platform) if job.name == BILLING_JOB])
            for platform in (payin.platform, other)
        ]
        await billing.api.AdvanceTestClock(
            S.AdvanceTestClockRequest(
                id=billing.clock_id, frozen_time=add_months(START, MONTHS) + HOUR
            )
        )
        started = asyncio.Event()

        async def loop(platform: Platform, jobs: list[Job]) -> None:
            await started.wait()
            deadline = time.monotonic() + SETTLE_SECONDS_MAX
            while time.monotonic() < deadline:
                for engine in platform.shards.engines:
                    for job in jobs:
                        await job.run(engine)
                    await platform.pay_in.executor.resume_due(engine)
                if (await billing.clock()).status == S.TEST_CLOCK_STATUS_READY:
                    return

        tasks = [asyncio.create_task(loop(platform, jobs)) for platform, jobs in workers]
        started.set()
        await asyncio.gather(*tasks)
    finally:
        await other.close()
    await billing.settle()
    await _assert_each_period_billed_once(billing, subscriptions)


@pytest.mark.slow
async def test_two_worker_processes_bill_each_period_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    subscriptions = await _subscribed(billing)
    settings = payin.platform.settings
    metrics_ports = [free_port(), free_port()]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paycore.cli",
            "worker",
            env={
                **server_environment(settings, free_port(), free_port()),
                "PAYCORE_PSP_URL": psp.url,
                "PAYCORE_WORKER_METRICS_ADDR": f"127.0.0.1:{port}",
                "PAYCORE_SHUTDOWN_GRACE_SECONDS": "10",
                "PAYCORE_DB_POOL_SIZE": "2",
            },
            stderr=asyncio.subprocess.PIPE,
        )
        for port in metrics_ports
    ]
    try:
        for port in metrics_ports:  # both are running before there is anything to bill
            await _wait_metrics(port)
        await billing.api.AdvanceTestClock(
            S.AdvanceTestClockRequest(
                id=billing.clock_id, frozen_time=add_months(START, MONTHS) + HOUR
            )
        )
        deadline = time.monotonic() + SETTLE_SECONDS_MAX
        while (await billing.clock()).status != S.TEST_CLOCK_STATUS_READY:
            assert time.monotonic() < deadline, await billing.clock()
            await asyncio.sleep(0.2)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            _, stderr = await asyncio.wait_for(worker.communicate(), timeout=30)
            assert worker.returncode == 0, stderr.decode()[-3000:]
    await _assert_each_period_billed_once(billing, subscriptions)


async def _wait_metrics(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            await asyncio.to_thread(http_get, f"http://127.0.0.1:{port}/metrics")
            return
        except OSError:
            assert time.monotonic() < deadline, f"no worker metrics on port {port}"
            await asyncio.sleep(0.2)


async def test_concurrent_creates_with_one_key_make_one_subscription_and_one_charge(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1900)

    outcomes = await asyncio.gather(
        *(billing.subscribe([(price, 1)], key="same-key") for _ in range(4)),
        return_exceptions=True,
    )

    created = {each.id for each in outcomes if isinstance(each, S.Subscription)}
    assert len(created) == 1, outcomes
    for refused in (each for each in outcomes if not isinstance(each, S.Subscription)):
        # A replay still running is ABORTED (IDEMPOTENCY_KEY_IN_USE): retry later.
        assert isinstance(refused, aio.AioRpcError), refused
        assert rich_error(refused).reason == "IDEMPOTENCY_KEY_IN_USE", refused
    listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest())
    assert [each.id for each in listed.data] == list(created)
    await billing.settle()
    assert [charge.amount for charge in captured(psp)] == [1900]
    await billing.assert_books(net([1900]))


async def test_a_change_while_the_clock_renews_bills_each_period_once_and_books_what_was_paid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    basic, premium = await billing.price(1000), await billing.price(3000)
    created = await billing.subscribe([(basic, 1)])
    await billing.advance(add_months(START, 1) - HOUR)
    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=add_months(START, 1) + HOUR)
    )

    # The renewal at the period end and an upgrade, at once: whichever comes first, the other
    # must see it. An upgrade that comes first is refused (TEST_CLOCK_ADVANCING: its clock's
    # time is past the renewal still to be made) and is made again once the clock is ready.
    upgrade = {
        "items": [S.UpdateSubscriptionRequest.Item(id=created.items[0].id, price=premium)],
        "proration_behavior": S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    }
    settled, first = await asyncio.gather(
        billing.settle(), billing.update(created.id, **upgrade), return_exceptions=True
    )
    assert not isinstance(settled, BaseException), settled

    await billing.settle()
    if isinstance(first, aio.AioRpcError):
        assert rich_error(first).reason == "TEST_CLOCK_ADVANCING", first
        await billing.update(created.id, **upgrade)
        await billing.settle()
    else:
        assert not isinstance(first, BaseException), first
    invoices = await billing.invoices(created.id)
    cycles = [
        each
        for each in invoices
        if each.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    ]
    assert [each.period_start for each in cycles] == [add_months(START, 1)]
    assert all(each.status == S.INVOICE_STATUS_PAID for each in invoices), invoices
    charged = [each for each in invoices if each.amount_paid > 0]
    charges = captured(psp)
    assert sorted(charge.reference for charge in charges) == sorted(
        each.payment_intent for each in charged
    )
    assert sorted(charge.amount for charge in charges) == sorted(
        each.amount_paid for each in charged
    )
    await billing.assert_books(net(each.amount_paid for each in charged))
