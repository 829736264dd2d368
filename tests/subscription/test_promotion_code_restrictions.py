"""A promotion code's restrictions (Stripe's): `minimum_amount` in `minimum_amount_currency`
(a subscription's items for a period, a checkout session's amount) and
`first_time_transaction` (a customer with a succeeded payment is refused). A code that does
not meet them is refused naming the field that gave it, nothing redeemed or created."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.v1 import checkout_pb2, customer_pb2, subscription_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import Billing, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 6, 1)
INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def promotion_code(billing: Billing, code: str, **restrictions: Any) -> S.PromotionCode:
    coupon = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="10", duration="once")
    )
    made: S.PromotionCode = await billing.api.CreatePromotionCode(
        S.CreatePromotionCodeRequest(
            coupon=coupon.id, code=code, restrictions=S.PromotionCodeRestrictions(**restrictions)
        )
    )
    return made


async def redemptions(billing: Billing, code: S.PromotionCode) -> int:
    found = await billing.api.GetPromotionCode(S.GetPromotionCodeRequest(id=code.id))
    return int(found.times_redeemed)


async def subscription_count(billing: Billing) -> int:
    listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest(limit=100))
    return len(listed.data)


async def test_a_minimum_amount_is_met_by_the_items_for_a_period_in_its_currency(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    monthly_eur = await billing.price(5000, "eur")
    big = await promotion_code(billing, "BIG20", minimum_amount=2000, minimum_amount_currency="usd")
    assert (big.restrictions.minimum_amount, big.restrictions.minimum_amount_currency) == (
        2000,
        "usd",
    )
    assert not big.restrictions.first_time_transaction
    for items in ([(monthly, 1)], [(monthly_eur, 1)]):
        refused = await failure(billing.subscribe(items, promotion_code=big.id), INVALID)
        assert refused.param == "promotion_code", refused
        assert "restrictions.minimum_amount" in refused.message
    assert await redemptions(billing, big) == 0
    assert await subscription_count(billing) == 0
    await billing.assert_books(0)

    two = await billing.subscribe([(monthly, 2)], promotion_code=big.id)
    first = (await billing.invoices(two.id))[-1]
    assert (first.subtotal, first.total, first.amount_paid) == (2000, 1800, 1800)
    assert await redemptions(billing, big) == 1
    await billing.assert_books(net([1800]))

    # A checkout session's amount before the discount.
    sessions = billing.shop.client.checkout
    request = checkout_pb2.CreateCheckoutSessionRequest(
        amount=1500,
        currency="usd",
        success_url="https://shop.test/thanks",
        cancel_url="https://shop.test/cart",
        discounts=[checkout_pb2.CheckoutDiscount(promotion_code=big.id)],
    )
    refused = await failure(sessions.CreateCheckoutSession(request), INVALID)
    assert refused.param == "discounts[0].promotion_code"
    request.amount = 2500
    session = await sessions.CreateCheckoutSession(request)
    assert (session.amount_total, session.total_details.amount_discount) == (2250, 250)
    assert await redemptions(billing, big) == 2


async def test_a_first_time_code_is_refused_to_a_customer_who_has_paid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    first_only = await promotion_code(billing, "FIRST", first_time_transaction=True)
    assert first_only.restrictions.first_time_transaction
    # The customer has paid nothing yet: its first subscription takes the code.
    subscription = await billing.subscribe([(monthly, 1)], promotion_code=first_only.id)
    assert (await billing.invoices(subscription.id))[-1].amount_paid == 900
    # Now it has paid: refused on an update, a new subscription and the customer itself.
    refused = await failure(billing.update(subscription.id, promotion_code=first_only.id), INVALID)
    assert refused.param == "promotion_code"
    assert "restrictions.first_time_transaction" in refused.message
    refused = await failure(
        billing.subscribe([(monthly, 1)], promotion_code=first_only.id), INVALID
    )
    assert refused.param == "promotion_code"
    customers = billing.shop.client.customers
    refused = await failure(
        customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(id=billing.customer, promotion_code=first_only.id)
        ),
        INVALID,
    )
    assert refused.param == "promotion_code"
    assert await redemptions(billing, first_only) == 1
    assert await subscription_count(billing) == 1
    # Another customer, who has not paid, may take it onto itself.
    other = await new_customer(billing.shop.client, email="new@shop.test", name="New")
    taken = await customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(id=other.id, promotion_code=first_only.id)
    )
    assert taken.discount.promotion_code == first_only.id
    await billing.assert_books(net([900]))


async def test_bad_restrictions_are_refused_naming_the_field(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    coupon = await billing.api.CreateCoupon(S.CreateCouponRequest(percent_off="5", duration="once"))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"minimum_amount": 500}, "restrictions.minimum_amount_currency"),
        ({"minimum_amount_currency": "usd"}, "restrictions.minimum_amount"),
        ({"minimum_amount": -1, "minimum_amount_currency": "usd"}, "restrictions.minimum_amount"),
        (
            {"minimum_amount": 500, "minimum_amount_currency": "xyz"},
            "restrictions.minimum_amount_currency",
        ),
    ]
    for restrictions, param in cases:
        refused = await failure(
            billing.api.CreatePromotionCode(
                S.CreatePromotionCodeRequest(
                    coupon=coupon.id, restrictions=S.PromotionCodeRestrictions(**restrictions)
                )
            ),
            INVALID,
        )
        assert refused.param == param, (restrictions, refused)
    listed = await billing.api.ListPromotionCodes(S.ListPromotionCodesRequest())
    assert list(listed.data) == []
