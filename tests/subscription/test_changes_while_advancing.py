"""A subscription whose test clock is advancing, and which the billing job has not yet caught
up (renewals, retries... still due before the clock's new time), cannot be changed or canceled
yet, nor take an invoice item: FAILED_PRECONDITION TEST_CLOCK_ADVANCING, nothing changed. A
change made then would take effect at the clock's new time but before the renewals still to
come at earlier times (a new price billed for the months before it was asked for; a cancel that
skipped them; an item billed on a past renewal). Once the job
has caught it up, the same change is made at the clock's time and prorated as usual.
"""

from __future__ import annotations

import grpc
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    add_months,
    net,
    open_billing,
    share,
    utc,
)

S = subscription_pb2
START = utc(2026, 1, 10, 10)
LATER = utc(2026, 6, 1, 10)  # four renewals on (Feb 10 .. May 10)
CHEAP, DEAR = 1000, 9000


async def test_a_subscription_behind_its_advancing_clock_is_changed_once_caught_up(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    cheap, dear = await billing.price(CHEAP), await billing.price(DEAR)
    subscription = await billing.subscribe([(cheap, 1)])
    item = subscription.items[0].id
    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=LATER)
    )  # and no billing pass yet: the subscription is behind

    upgrade = S.UpdateSubscriptionRequest(
        id=subscription.id,
        items=[S.UpdateSubscriptionRequest.Item(id=item, price=dear)],
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )
    refused = await failure(
        billing.api.UpdateSubscription(upgrade), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (refused.reason, refused.param) == ("TEST_CLOCK_ADVANCING", "id"), refused
    canceling = await failure(
        billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=subscription.id)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert canceling.reason == "TEST_CLOCK_ADVANCING", canceling
    item_refused = await failure(
        billing.api.CreateInvoiceItem(
            S.CreateInvoiceItemRequest(
                customer=billing.customer, subscription=subscription.id, amount=777, currency="usd"
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert (item_refused.reason, item_refused.param) == ("TEST_CLOCK_ADVANCING", "subscription")
    unchanged = await billing.subscription(subscription.id)
    assert (unchanged.status, unchanged.items[0].price.id) == (S.SUBSCRIPTION_STATUS_ACTIVE, cheap)

    await billing.settle()  # caught up: each renewal at its own time, at the price of then
    updated = await billing.api.UpdateSubscription(upgrade)

    period = (add_months(START, 4), add_months(START, 5))
    assert (updated.current_period_start, updated.current_period_end) == period
    invoices = await billing.invoices(subscription.id)
    assert [invoice.amount_paid for invoice in invoices[:5]] == [CHEAP] * 5
    change = invoices[5]
    assert change.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    assert [line.amount for line in change.lines] == [
        -share(CHEAP, *period, LATER),
        share(DEAR, *period, LATER),
    ]
    assert change.status == S.INVOICE_STATUS_PAID
    assert LATER - period[0] == 22 * DAY
    await billing.assert_books(net([CHEAP] * 5 + [change.amount_paid]))
