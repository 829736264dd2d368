"""Customer-level discounts (Stripe's `coupon` / `promotion_code` on a customer): the
customer shows its `discount`; the invoices of its subscriptions without a discount of their
own take it (a subscription's own discount first); a `once` one is used by one invoice;
DeleteCustomerDiscount ends it; refusals name the field and redeem nothing; the books hold
exactly what the discounted invoices charged.

Expected amounts are computed here from the stated rules, never read back from the server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paycore.client import idempotency_key
from paycore.v1 import customer_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import Billing, add_months, net, open_billing, utc

S, C = subscription_pb2, customer_pb2
START = utc(2028, 2, 10)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


async def customer(billing: Billing) -> C.Customer:
    found: C.Customer = await billing.shop.client.customers.GetCustomer(
        C.GetCustomerRequest(id=billing.customer)
    )
    return found


async def update_customer(billing: Billing, key: str = "", **fields: Any) -> C.Customer:
    updated: C.Customer = await billing.shop.client.customers.UpdateCustomer(
        C.UpdateCustomerRequest(id=billing.customer, **fields),
        metadata=idempotency_key(key) if key else None,
    )
    return updated


async def last_invoice(billing: Billing, subscription_id: str) -> S.Invoice:
    return (await billing.invoices(subscription_id))[-1]


async def test_a_customer_discount_discounts_its_subscriptions_without_their_own(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    quarter = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="25", duration="forever")
    )
    half = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="50", duration="forever")
    )
    updated = await update_customer(billing, coupon=quarter.id)
    assert updated.discount.coupon.id == quarter.id
    assert (updated.discount.customer, updated.discount.subscription) == (billing.customer, "")
    assert updated.discount.id.startswith("di_") and updated.discount.start > 0
    assert (await customer(billing)).discount == updated.discount
    assert await billing.event_count("customer.discount.created") == 1

    plain = await billing.subscribe([(monthly, 1)])
    own = await billing.subscribe([(monthly, 1)], coupon=half.id)
    first_plain, first_own = (
        await last_invoice(billing, plain.id),
        await last_invoice(billing, own.id),
    )
    assert (first_plain.total, first_plain.amount_paid) == (750, 750)
    assert first_plain.total_discount_amounts[0].discount == updated.discount.id
    assert (first_own.total, first_own.amount_paid) == (500, 500)
    paid = [750, 500]
    await billing.assert_books(net(paid))

    await billing.advance(add_months(START, 1))
    assert (await last_invoice(billing, plain.id)).amount_paid == 750
    assert (await last_invoice(billing, own.id)).amount_paid == 500
    paid += [750, 500]
    await billing.assert_books(net(paid))

    delete = C.DeleteCustomerDiscountRequest(id=billing.customer)
    customers = billing.shop.client.customers
    gone = await customers.DeleteCustomerDiscount(delete, metadata=idempotency_key("dd-1"))
    assert (gone.id, gone.deleted, gone.customer) == (updated.discount.id, True, billing.customer)
    assert gone.coupon.id == quarter.id
    again = await customers.DeleteCustomerDiscount(delete, metadata=idempotency_key("dd-1"))
    assert again == gone
    assert not (await customer(billing)).HasField("discount")
    assert await billing.event_count("customer.discount.deleted") == 1
    none = await failure(customers.DeleteCustomerDiscount(delete), NOT_FOUND)
    assert none.param == "id"

    await billing.advance(add_months(START, 2))
    assert (await last_invoice(billing, plain.id)).amount_paid == 1000
    assert (await last_invoice(billing, own.id)).amount_paid == 500
    paid += [1000, 500]
    await billing.assert_books(net(paid))


async def test_a_once_promotion_code_on_the_customer_is_used_by_one_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    subscription = await billing.subscribe([(monthly, 1)])
    three_off = await billing.api.CreateCoupon(
        S.CreateCouponRequest(amount_off=300, currency="usd", duration="once")
    )
    code = await billing.api.CreatePromotionCode(
        S.CreatePromotionCodeRequest(coupon=three_off.id, code="WELCOME3")
    )
    updated = await update_customer(billing, promotion_code=code.id)
    assert (updated.discount.coupon.id, updated.discount.promotion_code) == (three_off.id, code.id)
    redeemed = await billing.api.GetPromotionCode(S.GetPromotionCodeRequest(id=code.id))
    assert redeemed.times_redeemed == 1

    await billing.advance(add_months(START, 1))
    used = await last_invoice(billing, subscription.id)
    assert (used.subtotal, used.total, used.amount_paid) == (1000, 700, 700)
    assert not (await customer(billing)).HasField("discount")
    assert await billing.event_count("customer.discount.deleted") == 1
    await billing.advance(add_months(START, 2))
    assert (await last_invoice(billing, subscription.id)).amount_paid == 1000
    await billing.assert_books(net([1000, 700, 1000]))


async def test_bad_customer_discounts_are_refused_naming_the_field_and_redeem_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    limited = await billing.api.CreateCoupon(
        S.CreateCouponRequest(percent_off="10", duration="once", max_redemptions=1)
    )
    code = await billing.api.CreatePromotionCode(
        S.CreatePromotionCodeRequest(coupon=limited.id, code="TEN")
    )
    cases: list[tuple[dict[str, str], str]] = [
        ({"coupon": "NOPE"}, "coupon"),
        ({"coupon": "bad coupon!"}, "coupon"),
        ({"coupon": limited.id, "promotion_code": code.id}, "promotion_code"),
        ({"promotion_code": "promo_nope"}, "promotion_code"),
    ]
    for fields, param in cases:
        refused = await failure(update_customer(billing, **fields), INVALID)
        assert refused.param == param, (fields, refused)
    created = await failure(
        billing.shop.client.customers.CreateCustomer(
            C.CreateCustomerRequest(email="new@shop.test", coupon="NOPE")
        ),
        INVALID,
    )
    assert created.param == "coupon"
    assert not (await customer(billing)).HasField("discount")
    coupon = await billing.api.GetCoupon(S.GetCouponRequest(id=limited.id))
    assert coupon.times_redeemed == 0
    assert await billing.event_count("customer.discount.created") == 0

    # A new customer takes a coupon at creation; the coupon's last redemption is then used.
    made = await billing.shop.client.customers.CreateCustomer(
        C.CreateCustomerRequest(email="new@shop.test", coupon=limited.id)
    )
    assert made.discount.coupon.id == limited.id
    used_up = await failure(update_customer(billing, coupon=limited.id), INVALID)
    assert used_up.param == "coupon"


async def test_a_once_customer_discount_is_taken_by_one_of_two_renewals_made_at_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """Two subscriptions of one customer renew at the same moment in two billing passes side
    by side: the customer's `once` discount comes off exactly one of the two invoices."""
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    first = await billing.subscribe([(monthly, 1)])
    second = await billing.subscribe([(monthly, 1)])
    three_off = await billing.api.CreateCoupon(
        S.CreateCouponRequest(amount_off=300, currency="usd", duration="once")
    )
    await update_customer(billing, coupon=three_off.id)
    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=add_months(START, 1))
    )
    job = payin.platform.billing_clock
    for engine in payin.platform.shards.engines:
        await asyncio.gather(job.run(engine, limit=1), job.run(engine, limit=1))
    await billing.settle()

    renewals = [await last_invoice(billing, each.id) for each in (first, second)]
    assert sorted(invoice.amount_paid for invoice in renewals) == [700, 1000], renewals
    assert not (await customer(billing)).HasField("discount")
    assert await billing.event_count("customer.discount.deleted") == 1
    await billing.assert_books(net([1000, 1000, 700, 1000]))
