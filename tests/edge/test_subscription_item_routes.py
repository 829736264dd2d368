"""Stripe's SubscriptionItem.create, retrieve, modify and delete through stripe-python at the
REST edge: the item object (`subscription_item`, its `subscription`), the deleted stub, and
refusals naming the SDK's own parameters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn


async def test_subscription_items_with_stripe_python(payin: PayIn) -> None:
    async with stripe_client(payin, "Seats", "seats@example.com") as sdk:

        def run(sdk: stripe.StripeClient = sdk) -> None:
            customer = sdk.v1.customers.create(
                params={
                    "payment_method": "pm_card_visa",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                }
            )
            monthly: Any = {"interval": "month"}
            base, seat = (
                sdk.v1.prices.create(
                    params={
                        "unit_amount": amount,
                        "currency": "usd",
                        "recurring": monthly,
                        "product_data": {"name": name},
                    }
                )
                for amount, name in ((2000, "Base"), (500, "Seat"))
            )
            subscription = sdk.v1.subscriptions.create(
                params={"customer": customer.id, "items": [{"price": base.id}]}
            )
            added = sdk.v1.subscription_items.create(
                params={
                    "subscription": subscription.id,
                    "price": seat.id,
                    "quantity": 2,
                    "proration_behavior": "none",
                    "metadata": {"team": "blue"},
                },
                options={"idempotency_key": "add-seats"},
            )
            assert (added.object, added.subscription, added.quantity) == (
                "subscription_item",
                subscription.id,
                2,
            )
            # The Price object, as Stripe's (docs: deploy/edge.md).
            assert (added.price.object, added.price.id, added.price.unit_amount) == (
                "price",
                seat.id,
                seat.unit_amount,
            )
            read = sdk.v1.subscription_items.retrieve(added.id)
            assert (read.id, read.quantity) == (added.id, 2)
            modified = sdk.v1.subscription_items.update(
                added.id, params={"quantity": 4, "proration_behavior": "none"}
            )
            assert modified.quantity == 4 and modified.metadata.to_dict() == {"team": "blue"}
            items = sdk.v1.subscriptions.retrieve(subscription.id)["items"]["data"]
            assert [(item.price.id, item["quantity"]) for item in items] == [
                (base.id, 1),
                (seat.id, 4),
            ]
            with pytest.raises(stripe.InvalidRequestError) as duplicate:
                sdk.v1.subscription_items.create(
                    params={"subscription": subscription.id, "price": base.id}
                )
            assert duplicate.value.param == "price"
            deleted = sdk.v1.subscription_items.delete(
                added.id, params={"proration_behavior": "none"}
            )
            assert (deleted.id, deleted.object, deleted.deleted) == (
                added.id,
                "subscription_item",
                True,
            )
            with pytest.raises(stripe.InvalidRequestError) as gone:
                sdk.v1.subscription_items.retrieve(added.id)
            assert gone.value.http_status == 404
            with pytest.raises(stripe.InvalidRequestError) as last:
                sdk.v1.subscription_items.delete(items[0]["id"])
            assert last.value.param == "id"

        await asyncio.to_thread(run)
