"""Stripe's Checkout fields a stripe-python user passes on create: `customer_creation`
("always": a guest's session makes a customer as it completes, the session's and its payment
intent's `customer`), `locale` and `allow_promotion_codes` (kept and echoed; before, each was
refused as parameter_unknown); and a complete session's `customer_details`, who paid as the
session completed, not as its customer reads later."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
import stripe

from tests.edge.test_checkout_fulfillment import SUCCESS_URL, merchant, pay, sweep
from tests.payment.shop import PayIn, assert_books_balance

__all__ = ["merchant"]


def _create(**extra: Any) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price_data": _mug(), "quantity": 1}],
        success_url=SUCCESS_URL,
        **extra,
    )


def _mug() -> Any:
    return {"currency": "usd", "unit_amount": 1200, "product_data": {"name": "Mug"}}


def _page(session: stripe.checkout.Session) -> str:
    assert session.url is not None
    path = urlsplit(session.url).path
    with urlopen(f"{stripe.api_base}{path}") as answer:
        html: str = answer.read().decode()
    return html


def _refused(param: str, **extra: Any) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _create(**extra)
    assert refused.value.param == param


async def test_locale_and_allow_promotion_codes_are_kept_and_echoed(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> None:
        plain = _create()
        assert (plain.customer_creation, plain.locale) == ("if_required", None)
        assert plain.allow_promotion_codes is None
        given = _create(locale="pt-BR", allow_promotion_codes=True, customer_creation="always")
        read = stripe.checkout.Session.retrieve(given.id)
        for shown in (given, read):
            assert (shown.locale, shown.allow_promotion_codes) == ("pt-BR", True)
            assert shown.customer_creation == "always"
        # The hosted page's language is the locale (tests/web/test_checkout_locale.py).
        assert '<html lang="pt-BR">' in _page(given)
        assert '<html lang="en">' in _page(plain)
        _refused("locale", locale="klingon")
        _refused("customer_creation", customer_creation="sometimes")
        customer = stripe.Customer.create(email="known@shop.test")
        _refused("customer_creation", customer_creation="always", customer=customer.id)
        coupon = stripe.Coupon.create(percent_off=10, duration="once")
        _refused(
            "allow_promotion_codes", allow_promotion_codes=True, discounts=[{"coupon": coupon.id}]
        )
        assert len(stripe.checkout.Session.list().data) == 2

    await asyncio.to_thread(scenario)


async def test_customer_creation_always_makes_the_guest_a_customer_as_the_session_completes(
    payin: PayIn, merchant: str
) -> None:
    def create() -> tuple[stripe.checkout.Session, stripe.checkout.Session]:
        always = _create(customer_email="guest@shop.test", customer_creation="always")
        card = stripe.PaymentMethod.create(
            type="card",
            card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            billing_details={"name": "Grace Guest"},
        )
        assert isinstance(always.payment_intent, str)
        stripe.PaymentIntent.confirm(always.payment_intent, payment_method=card.id)
        if_required = _create(customer_email="other@shop.test")
        pay(if_required)
        return always, if_required

    always, if_required = await asyncio.to_thread(create)
    assert await sweep(payin) >= 2

    def read() -> None:
        done: Any = stripe.checkout.Session.retrieve(always.id)
        assert done.status == "complete"
        assert isinstance(done.customer, str) and done.customer.startswith("cus_")
        customer = stripe.Customer.retrieve(done.customer)
        assert (customer.email, customer.name) == ("guest@shop.test", "Grace Guest")
        assert (done.customer_details.email, done.customer_details.name) == (
            "guest@shop.test",
            "Grace Guest",
        )
        intent = stripe.PaymentIntent.retrieve(done.payment_intent)
        assert intent.customer == customer.id
        completed = [
            event.data.object
            for event in stripe.Event.list(type="checkout.session.completed").data
            if event.data.object.id == always.id
        ]
        assert [session.customer for session in completed] == [customer.id]
        # if_required (the default) makes none in payment mode.
        assert stripe.checkout.Session.retrieve(if_required.id).customer is None
        assert [c.id for c in stripe.Customer.list().data] == [customer.id]

    await asyncio.to_thread(read)
    await assert_books_balance(payin.admin, merchant)


async def test_customer_details_are_who_paid_as_the_session_completed(
    payin: PayIn, merchant: str
) -> None:
    def create() -> tuple[stripe.Customer, stripe.checkout.Session]:
        customer = stripe.Customer.create(email="ada@shop.test", name="Ada Lovelace")
        session = _create(customer=customer.id)
        pay(session)
        return customer, session

    customer, session = await asyncio.to_thread(create)
    assert await sweep(payin) >= 1

    def later() -> None:
        stripe.Customer.modify(customer.id, email="ada@elsewhere.test", name="Ada King")
        details: Any = stripe.checkout.Session.retrieve(session.id).customer_details
        assert (details.email, details.name) == ("ada@shop.test", "Ada Lovelace")
        listed: Any = stripe.checkout.Session.list(limit=1).data[0].customer_details
        assert listed.name == "Ada Lovelace"
        # The email filter finds it by the email it shows.
        found = stripe.checkout.Session.list(customer_details={"email": "ada@shop.test"})
        assert [shown.id for shown in found.data] == [session.id]

    await asyncio.to_thread(later)
