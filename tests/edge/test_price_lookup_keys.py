"""Stripe's price `lookup_key` through stripe-python at the REST edge: Price.create and
modify with `lookup_key` and `transfer_lookup_key`, `Price.list(lookup_keys=[...])`, null when
a price has none, and a key another price holds refused naming `lookup_key`."""

from __future__ import annotations

import asyncio

import pytest
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn


async def test_price_lookup_keys_with_stripe_python(payin: PayIn) -> None:
    async with stripe_client(payin, "Lookup keys", "keys@example.com") as sdk:

        def run(sdk: stripe.StripeClient = sdk) -> None:
            product = sdk.v1.products.create(params={"name": "Pro"})
            monthly = sdk.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": 2000,
                    "currency": "usd",
                    "recurring": {"interval": "month"},
                    "lookup_key": "pro_monthly",
                }
            )
            plain = sdk.v1.prices.create(
                params={"product": product.id, "unit_amount": 500, "currency": "usd"}
            )
            assert (monthly.lookup_key, plain.lookup_key) == ("pro_monthly", None)
            found = sdk.v1.prices.list(params={"lookup_keys": ["pro_monthly", "missing"]})
            assert [price.id for price in found.data] == [monthly.id]
            with pytest.raises(stripe.InvalidRequestError) as taken:
                sdk.v1.prices.update(plain.id, params={"lookup_key": "pro_monthly"})
            assert taken.value.param == "lookup_key"
            moved = sdk.v1.prices.update(
                plain.id, params={"lookup_key": "pro_monthly", "transfer_lookup_key": True}
            )
            assert moved.lookup_key == "pro_monthly"
            assert sdk.v1.prices.retrieve(monthly.id).lookup_key is None
            found = sdk.v1.prices.list(params={"lookup_keys": ["pro_monthly"]})
            assert [price.id for price in found.data] == [plain.id]

        await asyncio.to_thread(run)
