"""Stripe's `Subscription.modify(id, trial_end="now")` (end a trial early) and a later
`trial_end` through stripe-python at the REST edge: `trial_end=now` is the request's
`trial_end_now`, the moment its clock's now; any other word is refused naming `trial_end`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn

START = 1_830_000_000
DAY = 86_400


def _trialing(sdk: stripe.StripeClient) -> tuple[Any, Any]:
    clock = sdk.v1.test_helpers.test_clocks.create(params={"frozen_time": START})
    customer = sdk.v1.customers.create(
        params={
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    price = sdk.v1.prices.create(
        params={
            "unit_amount": 1500,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "product_data": {"name": "Gold"},
        }
    )
    subscription = sdk.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14}
    )
    assert subscription.status == "trialing"
    return clock, subscription


async def test_trial_end_now_ends_the_trial_at_the_clocks_now(payin: PayIn) -> None:
    async with stripe_client(payin, "Trials", "trials@example.com") as sdk:

        def run() -> None:
            _, subscription = _trialing(sdk)
            now: Any = {"trial_end": "now"}
            ended = sdk.v1.subscriptions.update(subscription.id, params=now)
            # Ended in the second it began (the clock has not moved): it lasts that second.
            assert (ended.trial_end, ended["current_period_end"]) == (START + 1, START + 1)
            assert ended.billing_cycle_anchor == START + 1
            later = sdk.v1.subscriptions.update(
                subscription.id, params={"trial_end": START + 3 * DAY}
            )
            assert (later.trial_end, later["current_period_end"]) == (START + 3 * DAY,) * 2
            with pytest.raises(stripe.InvalidRequestError) as refused:
                word: Any = {"trial_end": "tomorrow"}
                sdk.v1.subscriptions.update(subscription.id, params=word)
            assert refused.value.param == "trial_end"

        await asyncio.to_thread(run)


async def test_trial_end_now_on_create_is_no_trial(payin: PayIn) -> None:
    async with stripe_client(payin, "No trial", "notrial@example.com") as sdk:

        def run() -> None:
            _, trialing = _trialing(sdk)
            items: Any = [{"price": trialing["items"].data[0].price.id}]
            now: Any = {"customer": trialing.customer, "items": items, "trial_end": "now"}
            created = sdk.v1.subscriptions.create(params=now)
            assert (created.status, created.trial_end, created.trial_start) == (
                "active",
                None,
                None,
            )
            assert created["current_period_start"] == START
            with pytest.raises(stripe.InvalidRequestError) as both:
                both_trials: Any = {**now, "trial_period_days": 3}
                sdk.v1.subscriptions.create(params=both_trials)
            assert both.value.param == "trial_end"

        await asyncio.to_thread(run)
