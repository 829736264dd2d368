"""A promotion code's restrictions over the REST edge, as stripe-python users set them:
`restrictions[minimum_amount]`, `restrictions[minimum_amount_currency]`,
`restrictions[first_time_transaction]`, shown on the code; a subscription below the minimum is
refused naming `promotion_code`; a customer who has paid is refused a first-time code."""

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
    async with stripe_client(payin, "Promo user", "dev@promo.test") as client:
        yield client


async def test_promotion_code_restrictions_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        ten: Any = {"percent_off": 10, "duration": "forever"}
        coupon = sdk.v1.coupons.create(params=ten)
        big: Any = {
            "coupon": coupon.id,
            "code": "BIG",
            "restrictions": {"minimum_amount": 2000, "minimum_amount_currency": "usd"},
        }
        code = sdk.v1.promotion_codes.create(params=big)
        restrictions: Any = code.restrictions
        assert (restrictions.minimum_amount, restrictions.minimum_amount_currency) == (
            2000,
            "usd",
        )
        assert restrictions.first_time_transaction is False
        first: Any = {"coupon": coupon.id, "restrictions": {"first_time_transaction": True}}
        first_only = sdk.v1.promotion_codes.create(params=first)
        assert sdk.v1.promotion_codes.retrieve(first_only.id).restrictions.first_time_transaction

        customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
        card: Any = {"number": good_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = sdk.v1.payment_methods.create(params={"type": "card", "card": card})
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        product = sdk.v1.products.create(params={"name": "Gold"})
        recurring: Any = {"interval": "month"}
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1500,
                "currency": "usd",
                "recurring": recurring,
            }
        )
        items: Any = [{"price": price.id}]
        below: Any = {
            "customer": customer.id,
            "items": items,
            "default_payment_method": method.id,
            "promotion_code": code.id,
        }
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params=below)
        assert refused.value.param == "promotion_code" and refused.value.http_status == 400
        assert "minimum_amount" in str(refused.value.user_message)
        # Given as Stripe's newer discounts[0][...], a refusal names that field.
        for discount, param in (
            ({"promotion_code": code.id}, "discounts[0][promotion_code]"),
            ({"coupon": "no-such-coupon"}, "discounts[0][coupon]"),
        ):
            newer: Any = {**below, "discounts": [discount]}
            del newer["promotion_code"]
            with pytest.raises(stripe.InvalidRequestError) as refused:
                sdk.v1.subscriptions.create(params=newer)
            assert refused.value.param == param
        two: Any = [{"price": price.id, "quantity": 2}]
        enough: Any = {**below, "items": two}
        subscription = sdk.v1.subscriptions.create(params=enough)
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (3000, 2700, 2700)

        later: Any = {"discounts": [{"promotion_code": first_only.id}]}
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.update(subscription.id, params=later)
        assert refused.value.param == "discounts[0][promotion_code]"

        paid_before: Any = {"promotion_code": first_only.id}
        with pytest.raises(stripe.InvalidRequestError) as not_first:
            sdk.v1.customers.update(customer.id, params=paid_before)
        assert not_first.value.param == "promotion_code"

    await asyncio.to_thread(scenario)
