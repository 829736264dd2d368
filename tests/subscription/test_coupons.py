"""Coupons and discounts (docs/subscriptions.md "Coupons and discounts"): CreateCoupon, Get,
List, Delete; a coupon on a subscription discounts its invoices (percent_off per line, half
away from zero; amount_off spread over the positive lines), `once` / `repeating` / `forever`,
proration lines discounted at the same rate, the payment intent charging the discounted total
and the ledger holding it; redemptions counted exactly under concurrency.

Expected amounts are computed here from the stated rule, never read back from the server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paycore.client import idempotency_key
from paycore.v1 import payment_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    Billing,
    add_months,
    item_lines,
    net,
    open_billing,
    proration_lines,
    utc,
)

S = subscription_pb2
START = utc(2028, 1, 31)


def percent_of(amount: int, hundredths: int) -> int:
    """The stated rule: hundredths of a percent of a line, half away from zero."""
    taken = (abs(amount) * hundredths * 2 + 10_000) // 20_000
    return taken if amount >= 0 else -taken


async def coupon(billing: Billing, **fields: Any) -> S.Coupon:
    created: S.Coupon = await billing.api.CreateCoupon(S.CreateCouponRequest(**fields))
    return created


async def charged(shop: Shop, invoice: S.Invoice) -> int:
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert intent.amount == intent.amount_received
    return int(intent.amount)


async def test_a_coupon_is_created_read_listed_and_deleted(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    chosen = await coupon(
        billing,
        id="SPRING-25_off",
        name="Spring",
        percent_off="12.5",
        duration="repeating",
        duration_in_months=3,
        max_redemptions=10,
        redeem_by=START + 86_400,
        metadata={"campaign": "spring"},
    )
    assert (chosen.id, chosen.name, chosen.percent_off) == ("SPRING-25_off", "Spring", "12.5")
    assert (chosen.amount_off, chosen.currency) == (0, "")
    assert chosen.duration == S.COUPON_DURATION_REPEATING
    assert (chosen.duration_in_months, chosen.max_redemptions) == (3, 10)
    assert (chosen.times_redeemed, dict(chosen.metadata)) == (0, {"campaign": "spring"})
    generated = await coupon(billing, amount_off=500, currency="jpy", duration="forever")
    assert generated.id and generated.percent_off == ""
    assert (generated.amount_off, generated.currency) == (500, "jpy")
    assert generated.valid

    read = await billing.api.GetCoupon(S.GetCouponRequest(id=chosen.id))
    assert read == chosen
    listed = await billing.api.ListCoupons(S.ListCouponsRequest(limit=10))
    assert {each.id for each in listed.data} == {chosen.id, generated.id}

    deleted = await billing.api.DeleteCoupon(S.DeleteCouponRequest(id=chosen.id))
    assert (deleted.id, deleted.deleted) == (chosen.id, True)
    await failure(
        billing.api.GetCoupon(S.GetCouponRequest(id=chosen.id)), grpc.StatusCode.NOT_FOUND
    )
    listed = await billing.api.ListCoupons(S.ListCouponsRequest(limit=10))
    assert [each.id for each in listed.data] == [generated.id]
    # Its id stays taken (its discounts still name it).
    taken = await failure(
        billing.api.CreateCoupon(
            S.CreateCouponRequest(id=chosen.id, percent_off="5", duration="once")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert taken.param == "id"
    assert await billing.event_count("coupon.created") == 2
    assert await billing.event_count("coupon.deleted") == 1


BAD_COUPONS: list[tuple[dict[str, Any], str]] = [
    ({"duration": "once"}, "percent_off"),
    ({"percent_off": "10", "amount_off": 100, "currency": "usd", "duration": "once"}, "amount_off"),
    ({"percent_off": "0", "duration": "once"}, "percent_off"),
    ({"percent_off": "100.01", "duration": "once"}, "percent_off"),
    ({"percent_off": "12.345", "duration": "once"}, "percent_off"),
    ({"percent_off": "abc", "duration": "once"}, "percent_off"),
    ({"amount_off": 100, "duration": "once"}, "currency"),
    ({"amount_off": -5, "currency": "usd", "duration": "once"}, "amount_off"),
    ({"percent_off": "10", "duration_in_months": 2}, "duration_in_months"),  # once by default
    ({"percent_off": "10", "duration": "weekly"}, "duration"),
    ({"percent_off": "10", "duration": "repeating"}, "duration_in_months"),
    ({"percent_off": "10", "duration": "once", "duration_in_months": 2}, "duration_in_months"),
    ({"percent_off": "10", "duration": "once", "max_redemptions": -1}, "max_redemptions"),
    ({"percent_off": "10", "duration": "once", "id": "has space"}, "id"),
]


async def test_bad_coupons_are_refused_naming_the_field_and_nothing_is_created(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    for fields, param in BAD_COUPONS:
        error = await failure(
            billing.api.CreateCoupon(S.CreateCouponRequest(**fields)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert error.param == param, (fields, error)
    listed = await billing.api.ListCoupons(S.ListCouponsRequest())
    assert list(listed.data) == []


async def test_a_repeating_percent_coupon_discounts_three_months_of_invoices_to_the_cent(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats, support = await billing.price(1999), await billing.price(500)
    off = await coupon(billing, percent_off="15.5", duration="repeating", duration_in_months=3)
    created = await billing.subscribe([(seats, 3), (support, 1)], coupon=off.id)
    assert created.discount.coupon.id == off.id
    assert created.discount.start == START
    assert created.discount.end == add_months(START, 3)
    assert created.discount.id.startswith("di_")

    await billing.advance(add_months(START, 5))
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 6
    # 5997 x 15.5% = 929.535 -> 930; 500 x 15.5% = 77.5 -> 78 (half away from zero).
    discounted = (5997 - percent_of(5997, 1550)) + (500 - percent_of(500, 1550))
    assert discounted == 6497 - 1008
    paid = []
    for index, invoice in enumerate(invoices):
        in_force = index < 3  # created before start + 3 months (the 4th is created at it)
        assert invoice.subtotal == 6497, index
        lines = {line.price: line for line in item_lines(invoice)}
        if in_force:
            assert [line.discount_amounts[0].amount for line in (lines[seats], lines[support])] == [
                930,
                78,
            ], index
            assert [(each.amount, each.discount) for each in invoice.total_discount_amounts] == [
                (1008, created.discount.id)
            ]
            assert list(invoice.discounts) == [created.discount.id]
        else:
            assert list(invoice.total_discount_amounts) == [], index
            assert all(not line.discount_amounts for line in invoice.lines)
        total = discounted if in_force else 6497
        assert (invoice.total, invoice.amount_due, invoice.amount_paid) == (total,) * 3, index
        assert await charged(shop, invoice) == total
        paid.append(total)
    after = await billing.subscription(created.id)
    assert not after.HasField("discount")  # ended with the first invoice past its end
    assert await billing.event_count("customer.discount.created") == 1
    assert await billing.event_count("customer.discount.deleted") == 1
    await billing.assert_books(net(paid))


async def test_a_once_amount_off_coupon_in_jpy_discounts_the_first_invoice_only(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    plan, extra = await billing.price(3000, "jpy"), await billing.price(1001, "jpy")
    off = await coupon(billing, amount_off=500, currency="jpy", duration="once")
    created = await billing.subscribe(
        [(plan, 1), (extra, 1)], discounts=[S.DiscountRequest(coupon=off.id)]
    )
    # Taken by the first invoice, the `once` discount has ended already.
    assert not created.HasField("discount")
    await billing.advance(add_months(START, 2))
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 3
    first = invoices[0]
    assert len(first.discounts) == 1 and first.discounts[0].startswith("di_")
    # 500 spread by share: 3000/4001 of it rounded down (374), 1001/4001 (125), 1 left to the
    # first line.
    lines = {line.price: line for line in item_lines(first)}
    assert lines[plan].discount_amounts[0].amount == 500 * 3000 // 4001 + 1
    assert lines[extra].discount_amounts[0].amount == 500 * 1001 // 4001
    assert (first.subtotal, first.total) == (4001, 3501)
    assert await charged(shop, first) == 3501
    for invoice in invoices[1:]:
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (4001, 4001, 4001)
        assert list(invoice.total_discount_amounts) == []
        assert await charged(shop, invoice) == 4001
    assert not (await billing.subscription(created.id)).HasField("discount")
    await billing.assert_books(net([3501, 4001, 4001]), "jpy")


async def test_a_forever_coupon_discounts_prorations_at_its_rate_and_outlives_its_deletion(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(1000)
    off = await coupon(billing, percent_off="50", duration="forever")
    created = await billing.subscribe([(seats, 1)], coupon=off.id)
    await billing.api.DeleteCoupon(S.DeleteCouponRequest(id=off.id))
    await billing.advance(START + 10 * 86_400)
    updated = await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(id=created.items[0].id, quantity=3)],
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )
    assert updated.discount.coupon.id == off.id
    await billing.settle()
    await billing.advance(add_months(START, 1))
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 3
    first, change, renewal = invoices
    assert (first.total, await charged(shop, first)) == (500, 500)
    prorations = proration_lines(change)
    assert len(prorations) == 2
    for line in prorations:
        assert line.discount_amounts[0].amount == percent_of(line.amount, 5000)
    change_total = sum(line.amount - percent_of(line.amount, 5000) for line in prorations)
    assert change.total == change_total == change.subtotal - change.total_discount_amounts[0].amount
    assert await charged(shop, change) == change_total
    assert (renewal.subtotal, renewal.total, await charged(shop, renewal)) == (3000, 1500, 1500)
    await billing.assert_books(net([500, change_total, 1500]))
    # A deleted coupon is redeemed by nothing new.
    refused = await failure(
        billing.subscribe([(seats, 1)], coupon=off.id), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert refused.param == "coupon"


async def test_an_amount_off_coupon_in_another_currency_is_refused_and_nothing_is_created(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(1000)
    off = await coupon(billing, amount_off=100, currency="eur", duration="once")
    refused = await failure(
        billing.subscribe([(seats, 1)], coupon=off.id), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert refused.param == "coupon"
    unknown = await failure(
        billing.subscribe([(seats, 1)], coupon="NOPE"), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (unknown.param, unknown.reason) == ("coupon", "RESOURCE_MISSING")
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_ALL)
    )
    assert list(listed.data) == []
    assert (await billing.api.GetCoupon(S.GetCouponRequest(id=off.id))).times_redeemed == 0


async def test_redemptions_stop_exactly_at_max_redemptions_under_concurrency(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(1000)
    off = await coupon(billing, percent_off="10", duration="forever", max_redemptions=2)
    results = await asyncio.gather(
        *(billing.subscribe([(seats, 1)], coupon=off.id) for _ in range(6)),
        return_exceptions=True,
    )
    made = [result for result in results if isinstance(result, S.Subscription)]
    refused = [result for result in results if isinstance(result, grpc.aio.AioRpcError)]
    assert (len(made), len(refused)) == (2, 4), results
    assert all(error.code() == grpc.StatusCode.INVALID_ARGUMENT for error in refused)
    read = await billing.api.GetCoupon(S.GetCouponRequest(id=off.id))
    assert (read.times_redeemed, read.valid) == (2, False)
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_ALL)
    )
    assert sorted(each.id for each in listed.data) == sorted(each.id for each in made)
    invoices = await billing.invoices()
    assert sorted(invoice.total for invoice in invoices) == [900, 900]


async def test_update_subscription_takes_a_coupon_for_its_next_invoices(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(2000)
    created = await billing.subscribe([(seats, 1)])
    off = await coupon(billing, percent_off="25", duration="once")
    updated = await billing.update(created.id, coupon=off.id)
    assert updated.discount.coupon.id == off.id
    assert await billing.event_count("customer.discount.deleted") == 0
    forever = await coupon(billing, percent_off="10", duration="forever")
    replaced = await billing.update(created.id, coupon=forever.id)
    replaced = await billing.update(created.id, coupon=off.id)  # back to the once coupon
    assert replaced.discount.coupon.id == off.id
    assert await billing.event_count("customer.discount.created") == 3
    assert await billing.event_count("customer.discount.deleted") == 2
    await billing.advance(add_months(START, 2))
    invoices = await billing.invoices(created.id)
    assert [invoice.total for invoice in invoices] == [2000, 1500, 2000]
    assert await billing.event_count("customer.discount.deleted") == 3  # the once one, used
    await billing.assert_books(net([2000, 1500, 2000]))


async def test_a_promotion_code_redeems_its_coupon_until_its_own_limit(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(1000)
    off = await coupon(billing, percent_off="20", duration="forever")
    promo = await billing.api.CreatePromotionCode(
        S.CreatePromotionCodeRequest(coupon=off.id, code="WELCOME20", max_redemptions=1)
    )
    assert promo.id.startswith("promo_") and promo.code == "WELCOME20" and promo.active
    assert (promo.coupon.id, promo.max_redemptions, promo.times_redeemed) == (off.id, 1, 0)
    generated = await billing.api.CreatePromotionCode(S.CreatePromotionCodeRequest(coupon=off.id))
    assert len(generated.code) == 12

    created = await billing.subscribe([(seats, 1)], promotion_code=promo.id)
    assert created.discount.coupon.id == off.id
    assert created.discount.promotion_code == promo.id
    first = (await billing.invoices(created.id))[0]
    assert (first.subtotal, first.total, await charged(shop, first)) == (1000, 800, 800)
    read = await billing.api.GetPromotionCode(S.GetPromotionCodeRequest(id=promo.id))
    assert read.times_redeemed == 1
    assert (await billing.api.GetCoupon(S.GetCouponRequest(id=off.id))).times_redeemed == 1
    # Used up: refused naming it, nothing created, the coupon's count unchanged.
    used_up = await failure(
        billing.subscribe([(seats, 1)], discounts=[S.DiscountRequest(promotion_code=promo.id)]),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert used_up.param == "discounts[0].promotion_code"  # the field that gave it
    assert (await billing.api.GetCoupon(S.GetCouponRequest(id=off.id))).times_redeemed == 1
    # Deactivated: refused too.
    inactive = await billing.api.UpdatePromotionCode(
        S.UpdatePromotionCodeRequest(id=generated.id, active=False)
    )
    assert not inactive.active
    refused = await failure(
        billing.subscribe([(seats, 1)], promotion_code=generated.id),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused.param == "promotion_code"
    listed = await billing.api.ListPromotionCodes(S.ListPromotionCodesRequest(code="WELCOME20"))
    assert [each.id for each in listed.data] == [promo.id]
    taken = await failure(
        billing.api.CreatePromotionCode(
            S.CreatePromotionCodeRequest(coupon=off.id, code="WELCOME20")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert taken.param == "code"
    both = await failure(
        billing.subscribe([(seats, 1)], coupon=off.id, promotion_code=promo.id),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert both.param == "promotion_code"
    listed_subscriptions = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_ALL)
    )
    assert [each.id for each in listed_subscriptions.data] == [created.id]
    await billing.assert_books(net([800]))


async def test_create_and_delete_coupon_replay_their_answer_under_one_key(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    request = S.CreateCouponRequest(percent_off="5", duration="once")
    first = await billing.api.CreateCoupon(request, metadata=idempotency_key("coupon-1"))
    again = await billing.api.CreateCoupon(request, metadata=idempotency_key("coupon-1"))
    assert again == first  # the generated id too: one coupon
    listed = await billing.api.ListCoupons(S.ListCouponsRequest())
    assert [each.id for each in listed.data] == [first.id]
    other = S.CreateCouponRequest(percent_off="6", duration="once")
    reused = await failure(
        billing.api.CreateCoupon(other, metadata=idempotency_key("coupon-1")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reused.reason == "IDEMPOTENCY_KEY_REUSED"
    delete = S.DeleteCouponRequest(id=first.id)
    gone = await billing.api.DeleteCoupon(delete, metadata=idempotency_key("delete-1"))
    assert await billing.api.DeleteCoupon(delete, metadata=idempotency_key("delete-1")) == gone
    assert await billing.event_count("coupon.deleted") == 1


async def test_delete_subscription_discount_removes_it_and_then_finds_none(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    seats = await billing.price(2000)
    created = await billing.subscribe([(seats, 1)])
    forever = await coupon(billing, percent_off="10", duration="forever")
    updated = await billing.update(created.id, coupon=forever.id)
    request = S.DeleteSubscriptionDiscountRequest(id=created.id)

    deleted = await billing.api.DeleteSubscriptionDiscount(request)

    assert (deleted.id, deleted.deleted) == (updated.discount.id, True)
    assert (deleted.subscription, deleted.customer) == (created.id, created.customer)
    assert await billing.event_count("customer.discount.deleted") == 1
    after = await billing.api.GetSubscription(S.GetSubscriptionRequest(id=created.id))
    assert not after.HasField("discount") and list(after.discounts) == []
    none_left = await failure(
        billing.api.DeleteSubscriptionDiscount(request), grpc.StatusCode.NOT_FOUND
    )
    assert (none_left.reason, none_left.param) == ("RESOURCE_MISSING", "id")
    assert await billing.event_count("customer.discount.deleted") == 1
