"""Coupons and discounts over the REST edge, as stripe-python users write them: Coupon.create
(percent_off as a number, amount_off with currency), retrieve, list, delete; a subscription
created with `coupon` or `discounts[0][coupon]`, its discount and its invoice's discounted
total; bad input refused naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn, good_card


@pytest_asyncio.fixture
async def sdk(payin: PayIn) -> AsyncIterator[stripe.StripeClient]:
    async with stripe_client(payin, "Coupon user", "dev@coupons.test") as client:
        yield client


def _customer_with_card(sdk: stripe.StripeClient) -> tuple[str, str]:
    customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
    card: Any = {"number": good_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    method = sdk.v1.payment_methods.create(params={"type": "card", "card": card})
    sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    return customer.id, method.id


def _monthly_price(sdk: stripe.StripeClient, unit_amount: int) -> str:
    product = sdk.v1.products.create(params={"name": "Gold"})
    recurring: Any = {"interval": "month"}
    price = sdk.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": unit_amount,
            "currency": "usd",
            "recurring": recurring,
        }
    )
    return price.id


async def test_coupons_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        params: Any = {
            "percent_off": 25.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "Launch",
            "id": "LAUNCH",
            "metadata": {"channel": "email"},
        }
        launch = sdk.v1.coupons.create(params=params)
        assert isinstance(launch, stripe.Coupon)
        assert (launch.id, launch.object, launch.percent_off) == ("LAUNCH", "coupon", 25.5)
        assert (launch.amount_off, launch.currency) == (None, None)
        assert (launch.duration, launch.duration_in_months) == ("repeating", 3)
        assert (launch.times_redeemed, launch.valid) == (0, True)
        fixed: Any = {"amount_off": 300, "currency": "usd", "duration": "once"}
        three = sdk.v1.coupons.create(params=fixed)
        assert (three.amount_off, three.currency, three.percent_off) == (300, "usd", None)
        assert (launch.name, three.name) == ("Launch", None)  # none given: null, as Stripe's
        assert sdk.v1.coupons.retrieve("LAUNCH").to_dict() == launch.to_dict()
        listed = sdk.v1.coupons.list(params={"limit": 10})
        assert {each.id for each in listed.auto_paging_iter()} == {"LAUNCH", three.id}

        customer, method = _customer_with_card(sdk)
        price = _monthly_price(sdk, 2000)
        item: Any = {"price": price}
        with_coupon: Any = {
            "customer": customer,
            "items": [item],
            "default_payment_method": method,
            "coupon": "LAUNCH",  # the older API's form; `discounts` is the newer one
        }
        subscription = sdk.v1.subscriptions.create(params=with_coupon)
        assert subscription.status == "active", subscription
        discount = subscription["discount"]
        assert discount is not None and discount.coupon.id == "LAUNCH"
        assert discount.coupon.percent_off == 25.5 and discount.id.startswith("di_")
        assert subscription.discounts == [discount.id]
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        # 2000 x 25.5% = 510 off.
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (2000, 1490, 1490)
        amounts = invoice.total_discount_amounts or []
        assert [(each.amount, each.discount) for each in amounts] == [(510, discount.id)]
        line = invoice.lines.data[0]
        assert [each.amount for each in line.discount_amounts or []] == [510]
        intent = sdk.v1.payment_intents.retrieve(str(invoice["payment_intent"]))
        assert (intent.amount, intent.status) == (1490, "succeeded")

        discounts: Any = [{"coupon": three.id}]
        with_discounts: Any = {
            "customer": customer,
            "items": [item],
            "default_payment_method": method,
            "discounts": discounts,
        }
        second = sdk.v1.subscriptions.create(params=with_discounts)
        paid = sdk.v1.invoices.retrieve(str(second.latest_invoice))
        assert (paid.subtotal, paid.total) == (2000, 1700)

        eur: Any = {"amount_off": 100, "currency": "eur", "duration": "once"}
        other = sdk.v1.coupons.create(params=eur)
        mismatched: Any = {**with_coupon, "coupon": other.id}
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params=mismatched)
        assert refused.value.param == "coupon" and refused.value.http_status == 400
        bad: Any = {"percent_off": 120, "duration": "once"}
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            sdk.v1.coupons.create(params=bad)
        assert too_much.value.param == "percent_off"

        deleted = sdk.v1.coupons.delete("LAUNCH")
        assert (deleted.id, deleted.deleted) == ("LAUNCH", True)
        with pytest.raises(stripe.InvalidRequestError) as gone:
            sdk.v1.coupons.retrieve("LAUNCH")
        assert gone.value.http_status == 404
        # Its discount stays on the subscription.
        kept = sdk.v1.subscriptions.retrieve(subscription.id)
        assert kept["discount"] is not None and kept["discount"].coupon.id == "LAUNCH"

    await asyncio.to_thread(scenario)


async def test_a_coupon_without_duration_is_once(sdk: stripe.StripeClient) -> None:
    """Stripe's Coupon.create defaults `duration` to once; duration_in_months still needs
    repeating."""

    def scenario() -> None:
        coupon = sdk.v1.coupons.create(params={"percent_off": 10})
        assert (coupon.duration, coupon.duration_in_months) == ("once", None)
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.coupons.create(params={"percent_off": 10, "duration_in_months": 3})
        assert refused.value.param == "duration_in_months"

    await asyncio.to_thread(scenario)


async def test_promotion_codes_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        fixed: Any = {"amount_off": 250, "currency": "usd", "duration": "forever"}
        off = sdk.v1.coupons.create(params=fixed)
        made: Any = {"coupon": off.id, "code": "FRIENDS", "max_redemptions": 5}
        promo = sdk.v1.promotion_codes.create(params=made)
        assert isinstance(promo, stripe.PromotionCode)
        assert (promo.object, promo.code, promo.active) == ("promotion_code", "FRIENDS", True)
        assert promo["coupon"]["id"] == off.id
        assert promo.expires_at is None
        assert sdk.v1.promotion_codes.retrieve(promo.id).to_dict() == promo.to_dict()
        found = sdk.v1.promotion_codes.list(params={"code": "FRIENDS"})
        assert [each.id for each in found.data] == [promo.id]

        customer, method = _customer_with_card(sdk)
        price = _monthly_price(sdk, 1000)
        discounts: Any = [{"promotion_code": promo.id}]
        params: Any = {
            "customer": customer,
            "items": [{"price": price}],
            "default_payment_method": method,
            "discounts": discounts,
        }
        subscription = sdk.v1.subscriptions.create(params=params)
        assert subscription["discount"].promotion_code == promo.id
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        assert (invoice.subtotal, invoice.total) == (1000, 750)

        paused = sdk.v1.promotion_codes.update(promo.id, params={"active": False})
        assert paused.active is False
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params=params)
        assert refused.value.param == "discounts[0][promotion_code]"  # the field that gave it

    await asyncio.to_thread(scenario)


async def test_checkout_session_discounts_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        percent: Any = {"percent_off": 12.5, "duration": "once", "max_redemptions": 1}
        off = sdk.v1.coupons.create(params=percent)
        line: Any = {
            "price_data": {"currency": "usd", "unit_amount": 999, "product_data": {"name": "Mug"}},
            "quantity": 3,
        }
        params: Any = {
            "mode": "payment",
            "line_items": [line],
            "success_url": "https://shop.test/done",
            "discounts": [{"coupon": off.id}],
        }
        session = sdk.v1.checkout.sessions.create(params=params)
        # 2997 x 12.5% = 374.625 -> 375 (half away from zero).
        assert (session.amount_subtotal, session.amount_total) == (2997, 2622)
        assert session.total_details is not None
        assert session.total_details.amount_discount == 375
        intent = sdk.v1.payment_intents.retrieve(str(session.payment_intent))
        assert intent.amount == 2622
        # Used up (max_redemptions 1): refused naming it, no session made.
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.checkout.sessions.create(params=params)
        assert refused.value.param == "discounts[0][coupon]"
        listed = sdk.v1.checkout.sessions.list()
        assert [each.id for each in listed.data] == [session.id]

        eur: Any = {"amount_off": 5000, "currency": "usd", "duration": "once"}
        big = sdk.v1.coupons.create(params=eur)
        code: Any = {"coupon": big.id, "code": "BIG"}
        promo = sdk.v1.promotion_codes.create(params=code)
        with_code: Any = {**params, "discounts": [{"promotion_code": promo.id}]}
        # amount_off is capped at the amount, and what is left is a charge like any: at least
        # the currency's least charge (50 cents), so a session left at 0 is refused.
        with pytest.raises(stripe.InvalidRequestError) as too_small:
            sdk.v1.checkout.sessions.create(params=with_code)
        assert (too_small.value.param, too_small.value.code) == ("discounts[0]", "amount_too_small")
        half: Any = {"amount_off": 1000, "currency": "usd", "duration": "once"}
        ten = sdk.v1.coupons.create(params=half)
        coded: Any = {"coupon": ten.id, "code": "TEN"}
        promo = sdk.v1.promotion_codes.create(params=coded)
        with_code = {**params, "discounts": [{"promotion_code": promo.id}]}
        session = sdk.v1.checkout.sessions.create(params=with_code)
        assert (session.amount_subtotal, session.amount_total) == (2997, 1997)
        assert [each.promotion_code for each in session.discounts or []] == [promo.id]

    await asyncio.to_thread(scenario)


async def test_explicit_zero_limits_and_amounts_are_refused_naming_the_field(
    sdk: stripe.StripeClient,
) -> None:
    """Stripe's max_redemptions is a positive integer and amount_off an amount: an explicit 0
    is refused naming it, never taken as "no limit" (a merchant meaning "none" got unlimited
    redemptions) nor reported as a missing percent_off. Nothing is created."""

    def scenario() -> None:
        coupons = sdk.v1.coupons
        before = len(coupons.list().data)
        for params, param in (
            ({"percent_off": 10, "duration": "once", "max_redemptions": 0}, "max_redemptions"),
            ({"amount_off": 0, "currency": "usd", "duration": "once"}, "amount_off"),
        ):
            with pytest.raises(stripe.InvalidRequestError) as refused:
                coupons.create(params=params)  # type: ignore[arg-type]
            assert (refused.value.http_status, refused.value.param) == (400, param)
        assert len(coupons.list().data) == before
        coupon = coupons.create(params={"percent_off": 10, "duration": "once"})
        codes = sdk.v1.promotion_codes
        zero: Any = {"coupon": coupon.id, "max_redemptions": 0}  # the older API's coupon
        with pytest.raises(stripe.InvalidRequestError) as refused:
            codes.create(params=zero)
        assert refused.value.param == "max_redemptions"
        assert codes.list().data == []
        one: Any = {**zero, "max_redemptions": 1}
        limited = codes.create(params=one)
        assert limited.max_redemptions == 1

    await asyncio.to_thread(scenario)
