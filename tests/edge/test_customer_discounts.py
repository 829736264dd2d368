"""A customer-level discount over the REST edge, as stripe-python users give one: Customer
create / modify with `coupon` or `promotion_code`, the customer's `discount`, a subscription's
invoice discounted by it, and Customer.delete_discount (Stripe's deleted discount)."""

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
    async with stripe_client(payin, "Discount user", "dev@discounts.test") as client:
        yield client


async def test_customer_discounts_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        twenty: Any = {"percent_off": 20, "duration": "forever", "id": "TWENTY"}
        sdk.v1.coupons.create(params=twenty)
        with_coupon: Any = {"email": "ada@example.com", "coupon": "TWENTY"}
        customer = sdk.v1.customers.create(params=with_coupon)
        discount: Any = customer.discount
        assert discount is not None and discount.object == "discount"
        assert (discount.coupon.id, discount.customer) == ("TWENTY", customer.id)
        card: Any = {"number": good_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = sdk.v1.payment_methods.create(params={"type": "card", "card": card})
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        product = sdk.v1.products.create(params={"name": "Gold"})
        recurring: Any = {"interval": "month"}
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 2500,
                "currency": "usd",
                "recurring": recurring,
            }
        )
        items: Any = [{"price": price.id}]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer.id, "items": items, "default_payment_method": method.id}
        )
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (2500, 2000, 2000)
        intent = sdk.v1.payment_intents.retrieve(str(invoice["payment_intent"]))
        assert (intent.amount, intent.status) == (2000, "succeeded")

        deleted = sdk.v1.customers.delete_discount(customer.id)
        assert (deleted.object, deleted["deleted"], deleted.id) == ("discount", True, discount.id)
        assert sdk.v1.customers.retrieve(customer.id).discount is None
        with pytest.raises(stripe.InvalidRequestError) as none:
            sdk.v1.customers.delete_discount(customer.id)
        assert none.value.http_status == 404

        fixed: Any = {"amount_off": 500, "currency": "usd", "duration": "once"}
        five = sdk.v1.coupons.create(params=fixed)
        promotion: Any = {"coupon": five.id, "code": "FIVE"}
        code = sdk.v1.promotion_codes.create(params=promotion)
        with_code: Any = {"promotion_code": code.id}
        modified = sdk.v1.customers.update(customer.id, params=with_code)
        assert modified.discount is not None and modified.discount.promotion_code == code.id
        with pytest.raises(stripe.InvalidRequestError) as refused:
            unknown: Any = {"coupon": "NOPE"}
            sdk.v1.customers.update(customer.id, params=unknown)
        assert refused.value.param == "coupon"
        upcoming = sdk.v1.invoices.create_preview(params={"subscription": subscription.id})
        assert (upcoming.subtotal, upcoming.total) == (2500, 2000)

    await asyncio.to_thread(scenario)
