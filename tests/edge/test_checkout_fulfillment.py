"""What Stripe's Checkout fulfillment code reads, with stripe-python, in a
`checkout.session.completed` handler or after `stripe.checkout.Session.retrieve(id)`: the
buyer's `customer_details` (null until the session completes) and the line items' `price`
objects (`Session.list_line_items`, `expand[]=line_items`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import stripe
from paycore.edge import start_edge
from paycore.v1 import account_pb2
from paycore.worker.jobs import checkout_session_sweep

from tests.payment.shop import PayIn, assert_books_balance

SUCCESS_URL = "https://shop.test/thanks?session={CHECKOUT_SESSION_ID}"


@pytest_asyncio.fixture
async def merchant(payin: PayIn, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """stripe-python's module-level configuration pointed at an edge of its own, as Stripe's
    guides write it (its hosted pages served too); the merchant's id."""
    server = await start_edge(payin.target, "127.0.0.1:0", pages_token=payin.admin_token)
    created = await payin.admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Fulfiller", email="dev@fulfil.test", country="US", default_currency="usd"
        )
    )
    monkeypatch.setattr(stripe, "api_key", created.secret_key)
    monkeypatch.setattr(stripe, "api_base", f"http://127.0.0.1:{server.port}")
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    try:
        yield created.id
    finally:
        await server.close()


async def sweep(payin: PayIn) -> int:
    job = checkout_session_sweep(payin.platform.checkout, clock=time.time)
    return sum([await job.run(engine) for engine in payin.platform.shards.engines])


def pay(session: stripe.checkout.Session) -> None:
    assert isinstance(session.payment_intent, str)
    paid = stripe.PaymentIntent.confirm(session.payment_intent, payment_method="pm_card_visa")
    assert paid.status == "succeeded"


async def test_customer_details_are_null_until_complete_then_the_customers(
    payin: PayIn, merchant: str
) -> None:
    def create() -> stripe.checkout.Session:
        customer = stripe.Customer.create(
            email="ada@fulfil.test",
            name="Ada Lovelace",
            phone="+15555550100",
            address={"line1": "1 Main St", "city": "Springfield", "country": "US"},
        )
        session = stripe.checkout.Session.create(
            mode="payment",
            customer=customer.id,
            line_items=[{"price_data": _shirt(), "quantity": 1}],
            success_url=SUCCESS_URL,
        )
        assert session.customer_details is None
        assert stripe.checkout.Session.retrieve(session.id).customer_details is None
        pay(session)
        return session

    session = await asyncio.to_thread(create)

    def read() -> None:
        for shown in (
            stripe.checkout.Session.retrieve(session.id),
            stripe.checkout.Session.list(limit=1).data[0],
        ):
            assert shown.status == "complete"
            details: Any = shown.customer_details
            assert details.email == "ada@fulfil.test"
            assert details.name == "Ada Lovelace"
            assert details.phone == "+15555550100"
            assert details.address.line1 == "1 Main St"
            assert details.address.city == "Springfield"
            assert details.address.country == "US"
            assert details.address.line2 is None
            assert details.tax_exempt == "none"

    await asyncio.to_thread(read)
    assert await sweep(payin) >= 1

    def completed_event() -> None:
        [event] = stripe.Event.list(type="checkout.session.completed").data
        completed = event.data.object
        assert completed.id == session.id
        assert completed.customer_details.email == "ada@fulfil.test"
        assert completed.customer_details.name == "Ada Lovelace"

    await asyncio.to_thread(completed_event)
    await assert_books_balance(payin.admin, merchant)


async def test_a_guests_customer_details_carry_the_email_given(payin: PayIn, merchant: str) -> None:
    def scenario() -> None:
        session = stripe.checkout.Session.create(
            mode="payment",
            customer_email="guest@fulfil.test",
            line_items=[{"price_data": _shirt(), "quantity": 2}],
            success_url=SUCCESS_URL,
        )
        assert session.customer_details is None
        pay(session)
        details: Any = stripe.checkout.Session.retrieve(session.id).customer_details
        assert details.email == "guest@fulfil.test"
        assert (details.name, details.phone, details.address) == (None, None, None)
        assert details.tax_exempt == "none"
        # A guest session without an email: the buyer gave none on the page.
        anonymous = stripe.checkout.Session.create(
            mode="payment",
            line_items=[{"price_data": _shirt(), "quantity": 1}],
            success_url=SUCCESS_URL,
        )
        pay(anonymous)
        details = stripe.checkout.Session.retrieve(anonymous.id).customer_details
        assert details.email is None
        assert details.tax_exempt == "none"

    await asyncio.to_thread(scenario)


def _shirt() -> Any:
    return {"currency": "usd", "unit_amount": 1500, "product_data": {"name": "T-shirt"}}


async def test_line_items_carry_stripes_price_object(payin: PayIn, merchant: str) -> None:
    """Stripe's line item `price` is always the Price object, for a price_data line too (Stripe
    makes an inline price): `item.price.id` raised AttributeError on paycore's id string."""

    def scenario() -> None:
        mug = stripe.Product.create(name="Mug")
        price = stripe.Price.create(
            product=mug.id, unit_amount=1200, currency="usd", nickname="Mug, plain"
        )
        session = stripe.checkout.Session.create(
            mode="payment",
            line_items=[
                {"price": price.id, "quantity": 2},
                {"price_data": _shirt(), "quantity": 1},
                {
                    "price_data": {"currency": "usd", "unit_amount": 700, "product": mug.id},
                    "quantity": 3,
                },
            ],
            success_url=SUCCESS_URL,
        )
        items: Any = stripe.checkout.Session.list_line_items(session.id).data
        catalogued, inline, of_a_product = (item.price for item in items)
        assert (catalogued.object, catalogued.id, catalogued.product) == ("price", price.id, mug.id)
        assert (catalogued.unit_amount, catalogued.currency) == (1200, "usd")
        assert (catalogued.type, catalogued.recurring) == ("one_time", None)
        assert (catalogued.active, catalogued.nickname) == (True, "Mug, plain")
        assert inline.object == "price"
        assert inline.id.startswith("price_") and inline.id != price.id
        assert (inline.unit_amount, inline.currency, inline.active) == (1500, "usd", False)
        assert isinstance(inline.product, str) and inline.product.startswith("prod_")
        assert (of_a_product.product, of_a_product.unit_amount) == (mug.id, 700)
        assert of_a_product.id.startswith("price_") and of_a_product.active is False
        assert [item.description for item in items] == ["Mug", "T-shirt", "Mug"]
        # The same lines on the session (Stripe's fulfillment guide expands them), and the
        # price's product expanded through them.
        expanded: Any = stripe.checkout.Session.retrieve(session.id, expand=["line_items"])
        assert [item.price.id for item in expanded.line_items.data] == [
            item.price.id for item in items
        ]
        deeper: Any = stripe.checkout.Session.retrieve(
            session.id, expand=["line_items.data.price.product"]
        )
        assert deeper.line_items.data[0].price.product.name == "Mug"
        assert deeper.line_items.data[1].price.product.name == "T-shirt"
        # The inline price's id is the same on every read.
        again: Any = stripe.checkout.Session.list_line_items(session.id).data
        assert [item.price.id for item in again] == [item.price.id for item in items]

    await asyncio.to_thread(scenario)


async def test_the_email_filter_finds_a_customers_sessions_by_the_customers_email(
    payin: PayIn, merchant: str
) -> None:
    """Stripe's `customer_details[email]` filter finds the sessions whose buyer had that email:
    a customer's sessions too (their customer_details.email is the customer's), not only a
    guest's customer_email."""

    def scenario() -> None:
        customer = stripe.Customer.create(email="Grace@Fulfil.test")
        by_customer = stripe.checkout.Session.create(
            mode="payment",
            customer=customer.id,
            line_items=[{"price_data": _shirt(), "quantity": 1}],
            success_url=SUCCESS_URL,
        )
        by_guest = stripe.checkout.Session.create(
            mode="payment",
            customer_email="grace@fulfil.test",
            line_items=[{"price_data": _shirt(), "quantity": 1}],
            success_url=SUCCESS_URL,
        )
        stripe.checkout.Session.create(
            mode="payment",
            customer_email="someone@fulfil.test",
            line_items=[{"price_data": _shirt(), "quantity": 1}],
            success_url=SUCCESS_URL,
        )
        found = stripe.checkout.Session.list(customer_details={"email": "grace@fulfil.test"})
        assert [session.id for session in found.data] == [by_guest.id, by_customer.id]

    await asyncio.to_thread(scenario)
