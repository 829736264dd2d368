"""UpdateSubscription's `trial_end` (Stripe's `Subscription.modify(id, trial_end=...)`): a
trialing subscription's trial ends at another moment on its clock, or now (`trial_end=now`,
`trial_end_now` on gRPC: Stripe's "end the trial early"); the billing cycle is anchored there
and the first charged invoice is made there by the billing job, as at a trial's planned end.
Only a trial can be moved (an active subscription's `trial_end` is refused naming it)."""

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


async def test_ending_a_trial_now_bills_the_first_period_from_now(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    created = await billing.subscribe([(price, 1)], trial_period_days=14)
    moment = START + 2 * DAY + 3600
    await billing.advance(moment)

    updated = await billing.update(created.id, trial_end_now=True)

    assert updated.status == S.SUBSCRIPTION_STATUS_TRIALING  # the billing job converts it
    assert (updated.trial_start, updated.trial_end) == (START, moment)
    assert (updated.current_period_start, updated.current_period_end) == (START, moment)
    assert updated.billing_cycle_anchor == moment
    await billing.settle()
    converted = await billing.subscription(created.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (converted.current_period_start, converted.current_period_end) == (
        moment,
        add_months(moment, 1),
    )
    assert [charge.amount for charge in captured(psp)] == [1200]
    first = await billing.invoice(converted.latest_invoice)
    assert (first.status, first.amount_paid, first.period_start) == (
        S.INVOICE_STATUS_PAID,
        1200,
        moment,
    )
    await billing.assert_books(1200 - (1200 * 29 + 500) // 1000 - 30)


async def test_a_trial_moved_to_a_later_moment_converts_there(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    created = await billing.subscribe([(price, 1)], trial_period_days=14)
    later = START + 30 * DAY

    updated = await billing.update(created.id, trial_end=later)

    assert (updated.trial_end, updated.current_period_end, updated.billing_cycle_anchor) == (
        later,
        later,
        later,
    )
    await billing.advance(START + 20 * DAY)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_TRIALING
    assert captured(psp) == []
    await billing.advance(later)
    converted = await billing.subscription(created.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert converted.current_period_end == add_months(later, 1)
    assert [charge.amount for charge in captured(psp)] == [1200]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"trial_end": START - 1}, "in the past"),
        ({"trial_end": START + 731 * DAY}, "too far"),
        ({"trial_end": START + DAY, "trial_end_now": True}, "both"),
    ],
)
async def test_a_bad_trial_end_is_refused_naming_it_and_changes_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator, fields: dict[str, Any], why: str
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    created = await billing.subscribe([(price, 1)], trial_period_days=14)
    with pytest.raises(aio.AioRpcError) as refused:
        await billing.update(created.id, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, why
    assert rich_error(refused.value).param == "trial_end", why
    assert await billing.subscription(created.id) == created, why


async def test_an_active_subscriptions_trial_end_is_refused(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    created = await billing.subscribe([(price, 1)])
    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE
    with pytest.raises(aio.AioRpcError) as refused:
        await billing.update(created.id, trial_end_now=True)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(refused.value).param == "trial_end"
    assert "trialing" in (refused.value.details() or "")


async def test_a_trial_ended_in_the_second_it_began_ends_a_second_later(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """The trial's $0 invoice bills the period from the trial's start, and a subscription has
    one period invoice per period start: a trial ended in the second it began (a script that
    creates, then ends it) lasts that one second, then converts."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1200)
    created = await billing.subscribe([(price, 1)], trial_period_days=14)

    updated = await billing.update(created.id, trial_end_now=True)

    assert (updated.trial_end, updated.current_period_end) == (START + 1, START + 1)
    await billing.advance(START + 1)
    converted = await billing.subscription(created.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert converted.current_period_start == START + 1
    assert [charge.amount for charge in captured(psp)] == [1200]
