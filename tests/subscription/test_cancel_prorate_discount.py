"""Cancel now with `prorate` refunds the unused part of what the customer paid: with a discount
in force, the unused time's credit is discounted by the rule a proration line is (a 50% coupon
gives back half of the undiscounted unused share), not the whole payment (docs/subscriptions.md,
"Proration")."""

from __future__ import annotations

from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import DAY, add_months, net, open_billing, psp_refunds, share, utc

S = subscription_pb2
START = utc(2028, 4, 1)
END = add_months(START, 1)


async def test_a_prorated_cancel_refunds_the_unused_share_of_the_discounted_price(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1000)
    half = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="50", duration="forever")
    )
    created = await billing.subscribe([(price, 1)], coupon=half.id)
    at = START + 15 * DAY
    await billing.advance(at)

    await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id, prorate=True))

    unused = share(1000, START, END, at)
    refund = unused - (unused + 1) // 2  # the credit line loses 50%, halves away from zero
    assert [amount for amount, _ in psp_refunds(psp)] == [refund]
    await billing.assert_books(net([500]) - refund)
