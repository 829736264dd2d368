"""Stripe's `allow_promotion_codes`: the hosted page of such a session has a promotion code
field; a code the merchant has (active, any case) takes its coupon off the session and its
payment intent, which is then charged the discounted amount; a code it has not is told beside
the field and changes nothing; a session without the flag takes none."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import urlopen

import stripe

from tests.edge.test_checkout_fulfillment import SUCCESS_URL, merchant, pay, sweep
from tests.payment.shop import PayIn, assert_books_balance

__all__ = ["merchant"]


def _create(**extra: Any) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 2000,
                    "product_data": {"name": "Lamp"},
                },
                "quantity": 2,
            }
        ],
        success_url=SUCCESS_URL,
        **extra,
    )


def _promotion_code(coupon: str, code: str) -> Any:
    """POST /v1/promotion_codes with the `coupon` paycore takes (the SDK's stubs type Stripe's
    newer `promotion[coupon]`)."""
    given: Any = {"coupon": coupon, "code": code}
    return stripe.PromotionCode.create(**given)


def _page_url(session: stripe.checkout.Session) -> str:
    assert session.url is not None
    return f"{stripe.api_base}{urlsplit(session.url).path}"


def _post_code(session: stripe.checkout.Session, code: str) -> tuple[int, str, str]:
    """The page's form posted: (status, the page the buyer lands on, its url)."""
    data = urlencode({"promotion_code": code}).encode()
    try:
        with urlopen(_page_url(session), data=data) as answer:
            return answer.status, answer.read().decode(), answer.url
    except HTTPError as error:
        return error.code, error.read().decode(), error.url


def _page(session: stripe.checkout.Session) -> str:
    with urlopen(_page_url(session)) as answer:
        html: str = answer.read().decode()
    return html


async def test_a_code_typed_on_the_page_discounts_the_session_and_its_payment(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> stripe.checkout.Session:
        coupon = stripe.Coupon.create(percent_off=25, duration="once")
        promotion = _promotion_code(coupon.id, "SPRING25")
        session = _create(allow_promotion_codes=True)
        assert 'name="promotion_code"' in _page(session)
        status, html, _ = _post_code(session, "nope")
        assert status == 200 and "This code is invalid." in html
        assert stripe.checkout.Session.retrieve(session.id).amount_total == 4000
        status, html, landed = _post_code(session, "spring25")
        assert status == 200 and landed == _page_url(session)  # back on the page (303)
        assert "Pay 30.00 USD" in html and "Discount: 10.00 USD off 40.00 USD" in html
        assert 'name="promotion_code"' not in html
        read: Any = stripe.checkout.Session.retrieve(session.id)
        assert (read.amount_subtotal, read.amount_total) == (4000, 3000)
        assert read.total_details.amount_discount == 1000
        assert read.discounts[0].promotion_code.startswith("promo_")
        assert read.discounts[0].coupon == coupon.id
        assert isinstance(read.payment_intent, str)
        assert stripe.PaymentIntent.retrieve(read.payment_intent).amount == 3000
        # A second code is not taken: the session has its discount.
        _post_code(session, "SPRING25")
        assert stripe.checkout.Session.retrieve(session.id).amount_total == 3000
        assert stripe.PromotionCode.retrieve(promotion.id).times_redeemed == 1
        pay(session)
        paid = stripe.PaymentIntent.retrieve(read.payment_intent)
        assert (paid.status, paid.amount_received) == ("succeeded", 3000)
        return session

    await asyncio.to_thread(scenario)
    await sweep(payin)
    await assert_books_balance(payin.admin, merchant)


async def test_a_session_without_allow_promotion_codes_takes_none(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> None:
        coupon = stripe.Coupon.create(amount_off=500, currency="usd", duration="once")
        _promotion_code(coupon.id, "FIVE")
        session = _create()
        assert 'name="promotion_code"' not in _page(session)
        status, html, _ = _post_code(session, "FIVE")
        assert status == 200 and 'name="promotion_code"' not in html
        assert stripe.checkout.Session.retrieve(session.id).amount_total == 4000
        # A wrong secret is the 404 page, as for a GET.
        wrong = _page_url(session).rsplit("/", 1)[0] + "/" + "A" * 32
        try:
            urlopen(wrong, data=b"promotion_code=FIVE")
        except HTTPError as error:
            assert error.code == 404
        else:
            raise AssertionError("a wrong secret applied a code")

    await asyncio.to_thread(scenario)
