"""Stripe's `test_clock` filter of `Subscription.list`: the subscriptions on that test clock
(named by CreateSubscription, or through their customer's clock), none of another clock's or
of no clock; a clock the merchant does not have is refused naming `test_clock`."""

from __future__ import annotations

import time

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices


def _subscribe(sdk: stripe.StripeClient, price: str, clock: str | None) -> str:
    customer, method = customer_with_card(
        sdk, email="clock@example.com", **({"test_clock": clock} if clock else {})
    )
    subscription = sdk.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price}], "default_payment_method": method}
    )
    return subscription.id


async def test_subscriptions_list_by_test_clock(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        [price] = monthly_prices(sdk, 1200, name="Clocked")
        now = int(time.time())
        clocks = [
            sdk.v1.test_helpers.test_clocks.create(params={"frozen_time": now}).id for _ in range(2)
        ]
        first = [_subscribe(sdk, price, clocks[0]) for _ in range(2)]
        second = _subscribe(sdk, price, clocks[1])
        unclocked = _subscribe(sdk, price, None)

        listed = sdk.v1.subscriptions.list(params={"test_clock": clocks[0], "limit": 10})
        assert sorted(subscription.id for subscription in listed.data) == sorted(first)
        assert all(subscription.test_clock == clocks[0] for subscription in listed.data)
        listed = sdk.v1.subscriptions.list(params={"test_clock": clocks[1]})
        assert [subscription.id for subscription in listed.data] == [second]
        everyone = {s.id for s in sdk.v1.subscriptions.list(params={"limit": 100}).data}
        assert {*first, second, unclocked} <= everyone

        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.list(params={"test_clock": "clock_035AdC3UHm6zEd8xx2CNOJ"})
        assert (refused.value.http_status, refused.value.param) == (400, "test_clock")

    await in_thread(scenario)
