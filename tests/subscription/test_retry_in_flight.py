"""A dunned invoice whose customer's own payment is in flight (its intent `processing`) is
not the billing job's work until that payment is answered: the job does not claim its
subscription pass after pass for a retry it would not start, so other subscriptions due
after it are billed even when a pass takes one subscription at a time."""

from __future__ import annotations

from paycore.client import connect
from paycore.v1 import payment_pb2, subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import add_months, open_billing, utc
from tests.subscription.test_one_payment_per_invoice import _confirm, _dunned, _intent

S = subscription_pb2
P = payment_pb2
START = utc(2028, 7, 10)


async def test_a_retry_waiting_for_the_customers_payment_does_not_hold_up_the_others(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    stuck, renewal = await _dunned(billing)
    free = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="100", duration="forever")
    )
    other_price = await billing.price(1000)
    other = await billing.subscribe([(other_price, 1)], coupon=free.id)
    assert len(await billing.invoices(other.id)) == 1

    theirs = await billing.card_of_customer()
    await psp.set_faults(down=True)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        confirmed = await _confirm(browser, await _intent(shop, renewal.payment_intent), theirs)
    assert confirmed.status == P.PAYMENT_INTENT_STATUS_PROCESSING, confirmed

    # Past the stuck invoice's retry, then past the other subscription's period end.
    other_renewal = add_months(START, 2)
    assert renewal.next_payment_attempt < other.current_period_end <= other_renewal
    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=other_renewal + 86_400)
    )
    for _ in range(3):
        for engine in payin.platform.shards.engines:
            await payin.platform.billing_clock.run(engine, limit=1)

    renewed = await billing.invoices(other.id)
    assert len(renewed) == 2, renewed
    assert (renewed[-1].status, renewed[-1].amount_paid) == (S.INVOICE_STATUS_PAID, 0)
    # The stuck invoice: no retry started, its customer's payment still the one.
    waiting = await billing.invoice(renewal.id)
    assert (waiting.attempt_count, waiting.payment_intent) == (1, renewal.payment_intent)
    assert waiting.status == S.INVOICE_STATUS_OPEN
    assert (await billing.subscription(stuck.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
