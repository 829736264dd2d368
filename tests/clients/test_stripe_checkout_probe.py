"""stripe-python's checkout.Session calls as a merchant writes them, each checked against what
Stripe documents for the answer (found by a black-box probe through the SDK)."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from stripe.params.checkout._session_create_params import SessionCreateParamsLineItemPriceData


@pytest.mark.usefixtures("stripe_module")
async def test_a_line_of_quantity_zero_is_refused_not_charged_as_one() -> None:
    """`line_items[0][quantity]=0` was taken as quantity 1: a session charging for one item
    when the merchant asked for none. Refused naming the line's quantity; nothing created."""

    def scenario() -> None:
        before = len(stripe.checkout.Session.list(limit=100).data)
        data: SessionCreateParamsLineItemPriceData = {
            "currency": "usd",
            "unit_amount": 1999,
            "product_data": {"name": "Tee"},
        }
        with pytest.raises(stripe.InvalidRequestError) as refused:
            stripe.checkout.Session.create(
                mode="payment",
                line_items=[{"price_data": data, "quantity": 0}],
                success_url="https://shop.example/ok",
            )
        assert refused.value.http_status == 400
        assert refused.value.param == "line_items[0][quantity]"
        assert len(stripe.checkout.Session.list(limit=100).data) == before

        left_out = stripe.checkout.Session.create(
            mode="payment", line_items=[{"price_data": data}], success_url="https://shop.example/ok"
        )
        lines = stripe.checkout.Session.list_line_items(left_out.id).data
        assert (left_out.amount_total, lines[0].quantity) == (1999, 1)

    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_session_line_reads_as_stripe_line_item() -> None:
    """Stripe's line item (`list_line_items`, `expand=["line_items"]`) has `description` (the
    product's name), `currency` and `amount_subtotal`; a fulfillment written for Stripe reads
    them. They were missing (the SDK raised AttributeError)."""

    def scenario() -> None:
        product = stripe.Product.create(name="Paper cranes")
        price = stripe.Price.create(product=product.id, unit_amount=1250, currency="usd")
        session = stripe.checkout.Session.create(
            mode="payment",
            line_items=[
                {"price": price.id, "quantity": 2},
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 501,
                        "product_data": {"name": "Sticker"},
                    },
                    "quantity": 3,
                },
            ],
            success_url="https://shop.example/ok",
        )
        lines = stripe.checkout.Session.list_line_items(session.id).data
        seen = [
            (line.object, line.description, line.currency, line.amount_subtotal, line.amount_total)
            for line in lines
        ]
        assert seen == [
            ("item", "Paper cranes", "usd", 2500, 2500),
            ("item", "Sticker", "usd", 1503, 1503),
        ]
        expanded = stripe.checkout.Session.retrieve(session.id, expand=["line_items"])
        assert expanded.line_items is not None
        assert [line.description for line in expanded.line_items.data] == [
            "Paper cranes",
            "Sticker",
        ]

    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_session_without_what_is_bought_names_the_line_items() -> None:
    """A line with a quantity but no price, or no line at all, was refused naming `currency`
    (which a Stripe session never needs): it names what is missing, and creates nothing."""

    def scenario() -> None:
        before = len(stripe.checkout.Session.list(limit=100).data)
        with pytest.raises(stripe.InvalidRequestError) as no_price:
            stripe.checkout.Session.create(
                mode="payment", line_items=[{"quantity": 1}], success_url="https://shop.example/ok"
            )
        assert (no_price.value.code, no_price.value.param) == (
            "parameter_missing",
            "line_items[0][price]",
        )
        with pytest.raises(stripe.InvalidRequestError) as no_lines:
            stripe.checkout.Session.create(mode="payment", success_url="https://shop.example/ok")
        assert (no_lines.value.code, no_lines.value.param) == ("parameter_missing", "line_items")
        assert len(stripe.checkout.Session.list(limit=100).data) == before

    await asyncio.to_thread(scenario)


@pytest.mark.usefixtures("stripe_module")
async def test_a_session_says_its_payment_method_types() -> None:
    """Stripe's session has `payment_method_types` (["card"] for paycore's card-only pages);
    it was missing (AttributeError), in the answer to create and to retrieve."""

    def scenario() -> None:
        session = stripe.checkout.Session.create(
            mode="payment",
            line_items=[
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 900,
                        "product_data": {"name": "Kite"},
                    },
                    "quantity": 1,
                }
            ],
            success_url="https://shop.example/ok",
        )
        assert session.payment_method_types == ["card"]
        assert stripe.checkout.Session.retrieve(session.id).payment_method_types == ["card"]

    await asyncio.to_thread(scenario)
