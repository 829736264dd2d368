"""The upcoming invoice over the REST edge, as stripe-python users preview it:
Invoice.create_preview (POST /v1/invoices/create_preview) with subscription_details (a price
change prorated at proration_date), and the older GET /v1/invoices/upcoming; nothing stored;
a subscription with no invoice to come is 404 invoice_upcoming_none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

import pytest
import pytest_asyncio
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn, good_card


@pytest_asyncio.fixture
async def sdk(payin: PayIn) -> AsyncIterator[stripe.StripeClient]:
    async with stripe_client(payin, "Preview user", "dev@preview.test") as client:
        yield client


def _share(amount: int, start: int, end: int, at: int) -> int:
    return int(Fraction(amount * (end - at), end - start) + Fraction(1, 2))


async def test_invoice_create_preview_with_stripe_python(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
        card: Any = {"number": good_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = sdk.v1.payment_methods.create(params={"type": "card", "card": card})
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        product = sdk.v1.products.create(params={"name": "Gold"})
        recurring: Any = {"interval": "month"}
        prices = [
            sdk.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": amount,
                    "currency": "usd",
                    "recurring": recurring,
                }
            ).id
            for amount in (1000, 3000)
        ]
        items: Any = [{"price": prices[0]}]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer.id, "items": items, "default_payment_method": method.id}
        )
        assert subscription.status == "active"
        item = subscription["items"].data[0]
        start, end = item["current_period_start"], item["current_period_end"]
        sdk.v1.invoice_items.create(
            params={
                "customer": customer.id,
                "subscription": subscription.id,
                "amount": 250,
                "currency": "usd",
                "description": "Setup",
            }
        )

        upcoming = sdk.v1.invoices.create_preview(params={"subscription": subscription.id})
        assert isinstance(upcoming, stripe.Invoice)
        assert (upcoming.object, upcoming.status, upcoming.customer) == (
            "invoice",
            "draft",
            customer.id,
        )
        assert [(line.amount, line.description) for line in upcoming.lines.data] == [
            (1000, f"1 x {prices[0]}"),
            (250, "Setup"),
        ]
        assert (upcoming.subtotal, upcoming.total, upcoming.amount_due) == (1250, 1250, 1250)
        # A draft has no number yet: Stripe's nullable `number` is null, not "".
        assert upcoming.number is None
        assert sdk.v1.prices.retrieve(prices[0]).nickname is None  # never given: null
        assert (upcoming.period_start, upcoming.period_end) == (end, upcoming.period_end)

        midway = start + (end - start) // 2
        details: Any = {
            "items": [{"id": item.id, "price": prices[1]}],
            "proration_date": midway,
        }
        changed = sdk.v1.invoices.create_preview(
            params={"customer": customer.id, "subscription_details": details}
        )
        credit, charge = -_share(1000, start, end, midway), _share(3000, start, end, midway)
        assert [(line.amount, line["proration"]) for line in changed.lines.data] == [
            (3000, False),
            (credit, True),
            (charge, True),
            (250, False),
        ]
        assert changed.amount_due == 3000 + credit + charge + 250

        older = sdk.raw_request("get", "/v1/invoices/upcoming", subscription=subscription.id)
        assert sdk.deserialize(older, api_mode="V1")["amount_due"] == 1250

        # Nothing stored: the subscription keeps its price, one invoice so far.
        kept = sdk.v1.subscriptions.retrieve(subscription.id)
        assert kept["items"].data[0].price.id == prices[0]
        listed = sdk.v1.invoices.list(params={"subscription": subscription.id})
        assert len(listed.data) == 1

        bad: Any = {"items": [{"id": item.id, "quantity": 2}], "proration_date": end + 10}
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.invoices.create_preview(
                params={"subscription": subscription.id, "subscription_details": bad}
            )
        assert refused.value.param == "subscription_details[proration_date]"
        sdk.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})
        with pytest.raises(stripe.InvalidRequestError) as none:
            sdk.v1.invoices.create_preview(params={"subscription": subscription.id})
        assert (none.value.http_status, none.value.code) == (404, "invoice_upcoming_none")

    await asyncio.to_thread(scenario)
