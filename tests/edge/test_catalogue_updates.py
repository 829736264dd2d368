"""Stripe's `Product.modify` and `Price.modify` through stripe-python against the REST edge
(POST /v1/products/{id}, /v1/prices/{id}): the fields given change, metadata merges, "" clears
a description or nickname; an inactive price takes no new subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn


@pytest_asyncio.fixture
async def sdk(payin: PayIn) -> AsyncIterator[stripe.StripeClient]:
    async with stripe_client(payin, "Catalogue user", "dev@catalogue.test") as client:
        yield client


async def test_product_modify_changes_the_fields_given(sdk: stripe.StripeClient) -> None:
    def scenario() -> None:
        product = sdk.v1.products.create(
            params={"name": "Gold", "description": "All", "metadata": {"a": "1", "b": "2"}}
        )
        metadata: Any = {"a": "", "c": "3"}
        modified = sdk.v1.products.update(
            product.id,
            params={"name": "Platinum", "description": "", "active": False, "metadata": metadata},
        )
        assert (modified.name, modified.active) == ("Platinum", False)
        assert modified.description is None  # Stripe's null for no description
        assert modified.to_dict()["metadata"] == {"b": "2", "c": "3"}
        assert sdk.v1.products.retrieve(product.id).to_dict() == modified.to_dict()
        with pytest.raises(stripe.InvalidRequestError) as bad:
            sdk.v1.products.update(product.id, params={"name": ""})
        assert bad.value.param == "name"

    await asyncio.to_thread(scenario)


async def test_price_modify_and_an_inactive_price_takes_no_subscription(
    sdk: stripe.StripeClient,
) -> None:
    def scenario() -> None:
        product = sdk.v1.products.create(params={"name": "Gold"})
        recurring: Any = {"interval": "month"}
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1500,
                "currency": "usd",
                "recurring": recurring,
                "nickname": "Monthly",
            }
        )
        metadata: Any = {"plan": "gold"}
        modified = sdk.v1.prices.update(
            price.id, params={"nickname": "", "active": False, "metadata": metadata}
        )
        assert (modified.active, modified.nickname, modified.unit_amount) == (False, None, 1500)
        assert modified.to_dict()["metadata"] == {"plan": "gold"}
        with pytest.raises(stripe.InvalidRequestError) as unknown:
            amount: Any = {"unit_amount": 99}  # Stripe's update takes no amount
            sdk.v1.prices.update(price.id, params=amount)
        assert unknown.value.param == "unit_amount"
        customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
        items: Any = [{"price": price.id}]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(
                params={"customer": customer.id, "items": items, "trial_period_days": 3}
            )
        assert refused.value.param == "items[0][price]"

    await asyncio.to_thread(scenario)
