"""CreateSubscription's `trial_end` (Stripe's: the trial's end as a moment, unix seconds, on
the subscription's clock), beside `trial_period_days`. Issue 7's "trial in the past" is a
trial_end before now: refused naming it, nothing created."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc import aio
from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import DAY, add_months, captured, open_billing, utc

S = subscription_pb2
START = utc(2028, 5, 3, 8, 0)
TRIAL_END = utc(2028, 5, 20, 0, 0)


async def test_a_trial_ending_at_a_moment_converts_there(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)

    created = await billing.subscribe([(price, 1)], trial_end=TRIAL_END)

    assert created.status == S.SUBSCRIPTION_STATUS_TRIALING
    assert (created.trial_start, created.trial_end) == (START, TRIAL_END)
    assert (created.current_period_start, created.current_period_end) == (START, TRIAL_END)
    assert created.billing_cycle_anchor == TRIAL_END
    assert captured(psp) == []

    await billing.advance(TRIAL_END)
    converted = await billing.subscription(created.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (converted.current_period_start, converted.current_period_end) == (
        TRIAL_END,
        add_months(TRIAL_END, 1),
    )
    assert [charge.amount for charge in captured(psp)] == [1200]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"trial_end": START - 1}, "in the past"),
        ({"trial_end": START}, "now"),
        ({"trial_end": START + 731 * DAY}, "too far"),
        ({"trial_end": -5}, "negative"),
        ({"trial_end": TRIAL_END, "trial_period_days": 7}, "both"),
    ],
)
async def test_a_bad_trial_end_is_refused_naming_it_and_creates_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator, fields: dict[str, Any], why: str
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    with pytest.raises(aio.AioRpcError) as refused:
        await billing.subscribe([(price, 1)], **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, why
    assert rich_error(refused.value).param == "trial_end", why
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(customer=billing.customer)
    )
    assert list(listed.data) == [], why
