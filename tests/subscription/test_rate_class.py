"""A merchant's billing calls at the pace of a test of issue 7 on the shipped rate limits: a
catalogue made, then a clock advanced and read until it is ready. The subscriptions class
allowed 10 calls a second per key, so the eleventh call of such a test, well inside a second,
answered RESOURCE_EXHAUSTED (429 at the edge) to a merchant doing nothing unusual."""

from __future__ import annotations

from paycore.v1 import subscription_pb2

from tests.helpers import MerchantFixture
from tests.subscription.support import new_price, new_product

S = subscription_pb2
START = 1_830_000_000


async def test_a_billing_test_at_its_own_pace_is_not_rate_limited(
    merchant: MerchantFixture,
) -> None:
    client = merchant.client
    product = await new_product(client)
    for amount in (500, 1000, 2000):
        await new_price(client, product.id, amount, "usd")
    clock = await client.subscriptions.CreateTestClock(S.CreateTestClockRequest(frozen_time=START))
    await client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=clock.id, frozen_time=START + 86_400)
    )
    for _ in range(15):  # a test waiting for the clock to be ready
        await client.subscriptions.GetTestClock(S.GetTestClockRequest(id=clock.id))
