"""What the subscription tests share: calls that make catalogue objects, and operator clients
for tests that make more calls than a key's subscriptions rate limit (100/s) lets through."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from paycore.app import build_jobs
from paycore.client import Paycore
from paycore.v1 import subscription_pb2
from paycore.worker import Job

from tests.customer.support import new_customer
from tests.payment.shop import PayIn, Shop

OperatorFor = Callable[[str | None], Paycore]
BILLING_JOB = "subscription_billing"
# A clock that has not caught up after this many worker passes (or seconds) is a failure, not
# a slow test: 13 monthly renewals need a few dozen passes at most.
PASSES_MAX = 300
SETTLE_SECONDS_MAX = 90.0
JAN_31_2026 = 1_769_817_600  # 2026-01-31T00:00:00Z
MONTHLY = subscription_pb2.Recurring(
    interval=subscription_pb2.RECURRING_INTERVAL_MONTH, interval_count=1
)


async def new_product(client: Paycore, name: str = "Gold plan", **fields: Any) -> Any:
    return await client.subscriptions.CreateProduct(
        subscription_pb2.CreateProductRequest(name=name, **fields)
    )


async def new_price(
    client: Paycore,
    product: str,
    unit_amount: int = 1500,
    currency: str = "usd",
    **fields: Any,
) -> Any:
    return await client.subscriptions.CreatePrice(
        subscription_pb2.CreatePriceRequest(
            product=product, unit_amount=unit_amount, currency=currency, **fields
        )
    )


class Billed:
    """A shop with a customer, a saved card and a monthly price, billing on a test clock."""

    def __init__(self, payin: PayIn, shop: Shop) -> None:
        self.payin = payin
        self.shop = shop
        self.client = shop.client

    async def setup(
        self,
        card: str,
        unit_amount: int = 1500,
        currency: str = "usd",
        start: int = JAN_31_2026,
    ) -> Billed:
        self.customer = (await new_customer(self.client)).id
        self.card = await self.shop.card(card, self.customer)
        product = await new_product(self.client)
        self.price = (
            await new_price(self.client, product.id, unit_amount, currency, recurring=MONTHLY)
        ).id
        self.clock = (
            await self.client.subscriptions.CreateTestClock(
                subscription_pb2.CreateTestClockRequest(frozen_time=start)
            )
        ).id
        return self

    async def subscribe(self, **fields: Any) -> subscription_pb2.Subscription:
        request = subscription_pb2.CreateSubscriptionRequest(
            customer=self.customer,
            items=[subscription_pb2.CreateSubscriptionRequest.Item(price=self.price)],
            default_payment_method=self.card,
            test_clock=self.clock,
        )
        for name, value in fields.items():
            if name == "items":  # a repeated field is replaced, not assigned
                del request.items[:]
                request.items.extend(value)
            else:
                setattr(request, name, value)
        created: subscription_pb2.Subscription = await self.client.subscriptions.CreateSubscription(
            request
        )
        return created

    async def advance(self, to: int) -> None:
        """Moves the clock and runs what `paycore worker` runs until the clock is ready."""
        await self.client.subscriptions.AdvanceTestClock(
            subscription_pb2.AdvanceTestClockRequest(id=self.clock, frozen_time=to)
        )
        await self.drain()

    async def drain(self) -> None:
        await settle_clock(self.payin, billing_job(self.payin), self.client, self.clock)

    async def subscription(self, subscription_id: str) -> subscription_pb2.Subscription:
        found: subscription_pb2.Subscription = await self.client.subscriptions.GetSubscription(
            subscription_pb2.GetSubscriptionRequest(id=subscription_id)
        )
        return found

    async def invoices(self, subscription_id: str) -> list[subscription_pb2.Invoice]:
        """Oldest first."""
        listed = await self.client.subscriptions.ListInvoices(
            subscription_pb2.ListInvoicesRequest(subscription=subscription_id, limit=100)
        )
        return list(reversed(listed.data))


def billing_job(payin: PayIn) -> Job:
    """The worker's "subscription_billing" job (paycore.app.build_jobs)."""
    jobs = [job for job in build_jobs(payin.platform) if job.name == BILLING_JOB]
    assert len(jobs) == 1, [job.name for job in build_jobs(payin.platform)]
    return jobs[0]


async def work_once(payin: PayIn, job: Job) -> int:
    """One pass of what `paycore worker` runs for billing: the billing job, then the
    executor's due resumptions, on every shard. How many items were done."""
    done = 0
    for engine in payin.platform.shards.engines:
        done += await job.run(engine)
    return done + await payin.run_worker_once()


async def settle_clock(
    payin: PayIn, job: Job, client: Paycore, clock_id: str
) -> subscription_pb2.TestClock:
    """Works until the clock is READY and a pass finds nothing left; bounded."""
    deadline = time.monotonic() + SETTLE_SECONDS_MAX
    for _ in range(PASSES_MAX):
        done = await work_once(payin, job)
        clock: subscription_pb2.TestClock = await client.subscriptions.GetTestClock(
            subscription_pb2.GetTestClockRequest(id=clock_id)
        )
        assert clock.status != subscription_pb2.TEST_CLOCK_STATUS_INTERNAL_FAILURE, clock
        if clock.status == subscription_pb2.TEST_CLOCK_STATUS_READY and done == 0:
            return clock
        assert time.monotonic() < deadline, f"clock still {clock} after {SETTLE_SECONDS_MAX}s"
    raise AssertionError(f"the clock did not settle in {PASSES_MAX} passes: {clock}")
