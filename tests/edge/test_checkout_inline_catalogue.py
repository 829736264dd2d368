"""A price_data line of a checkout session, as Stripe makes it: its inline price (inactive,
one-time) and the product of its `product_data` (name, description, metadata; inactive) are
objects of their own, read with `stripe.Price.retrieve` and `stripe.Product.retrieve` from
the line's price, made once with the session (a replay makes none), and a refused line makes
neither."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from tests.edge.test_checkout_fulfillment import SUCCESS_URL, merchant
from tests.payment.shop import PayIn

__all__ = ["merchant"]


def _tee(**product_data: Any) -> Any:
    return {"currency": "usd", "unit_amount": 2500, "product_data": {"name": "Tee", **product_data}}


async def test_a_price_data_lines_price_and_product_are_retrievable(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> None:
        mug = stripe.Product.create(name="Mug")
        session = stripe.checkout.Session.create(
            mode="payment",
            line_items=[
                {
                    "price_data": _tee(description="Organic cotton", metadata={"sku": "T-1"}),
                    "quantity": 2,
                },
                {
                    "price_data": {"currency": "usd", "unit_amount": 700, "product": mug.id},
                    "quantity": 1,
                },
            ],
            success_url=SUCCESS_URL,
        )
        lines: Any = stripe.checkout.Session.list_line_items(session.id).data
        tee_line, mug_line = lines
        price: Any = stripe.Price.retrieve(tee_line.price.id)
        assert (price.unit_amount, price.currency, price.type) == (2500, "usd", "one_time")
        assert (price.active, price.recurring) == (False, None)
        product = stripe.Product.retrieve(price.product)
        assert product.id == tee_line.price.product
        assert (product.name, product.description) == ("Tee", "Organic cotton")
        assert (product.active, product.metadata.to_dict()) == (False, {"sku": "T-1"})
        assert tee_line.description == "Tee"
        of_mug = stripe.Price.retrieve(mug_line.price.id)
        assert (of_mug.product, of_mug.unit_amount, of_mug.active) == (mug.id, 700, False)
        # The catalogue's own listing of active products shows neither made product.
        assert [p.id for p in stripe.Product.list(active=True).data] == [mug.id]

    await asyncio.to_thread(scenario)


async def test_a_replayed_create_makes_no_second_price_and_a_refused_one_none(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> None:
        def create(**extra: Any) -> stripe.checkout.Session:
            return stripe.checkout.Session.create(
                mode="payment",
                line_items=[{"price_data": _tee(), "quantity": 1}],
                success_url=SUCCESS_URL,
                **extra,
            )

        first = create(idempotency_key="inline-1")
        again = create(idempotency_key="inline-1")
        assert again.id == first.id
        assert len(stripe.Product.list(limit=100).data) == 1
        assert len(stripe.Price.list(limit=100).data) == 1

        # A refusal after the lines are read (an unknown customer, a too-long product
        # description) makes no product and no price.
        try:
            create(customer="cus_0000000000000000000000")
        except stripe.InvalidRequestError as error:
            assert error.param == "customer"
        else:
            raise AssertionError("an unknown customer was taken")
        try:
            stripe.checkout.Session.create(
                mode="payment",
                line_items=[{"price_data": _tee(description="x" * 1001), "quantity": 1}],
                success_url=SUCCESS_URL,
            )
        except stripe.InvalidRequestError as error:
            assert error.param == "line_items[0][price_data][product_data][description]"
        else:
            raise AssertionError("a description too long was taken")
        assert len(stripe.Product.list(limit=100).data) == 1
        assert len(stripe.Price.list(limit=100).data) == 1

    await asyncio.to_thread(scenario)


async def test_a_price_data_line_of_an_inactive_product_is_refused_naming_it(
    payin: PayIn, merchant: str
) -> None:
    def scenario() -> None:
        old = stripe.Product.create(name="Old mug", active=False)
        try:
            stripe.checkout.Session.create(
                mode="payment",
                line_items=[
                    {
                        "price_data": {"currency": "usd", "unit_amount": 700, "product": old.id},
                        "quantity": 1,
                    }
                ],
                success_url=SUCCESS_URL,
            )
        except stripe.InvalidRequestError as error:
            assert error.param == "line_items[0][price_data][product]"
        else:
            raise AssertionError("an inactive product was sold")
        assert stripe.checkout.Session.list().data == []
        assert stripe.Price.list().data == []

    await asyncio.to_thread(scenario)
