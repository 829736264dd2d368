"""Stripe's `items[n][metadata]` on Subscription.create and Subscription.modify: each item
keeps its own metadata (rendered on the subscription's items and by SubscriptionItem.retrieve),
merged on an update as every metadata is; a bad key is refused naming the item's field."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import card, client, in_thread
from tests.payment.shop import good_card


async def test_items_keep_their_metadata(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        product = sdk.v1.products.create(params={"name": "Seats"})
        prices = [
            sdk.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": amount,
                    "currency": "usd",
                    "recurring": {"interval": "month"},
                }
            ).id
            for amount in (1500, 700)
        ]
        customer = sdk.v1.customers.create(params={"email": "meta@example.com"})
        method = card(sdk, good_card())
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        items: Any = [
            {"price": prices[0], "metadata": {"seat": "admin"}},
            {"price": prices[1], "quantity": 2},
        ]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer.id, "items": items, "default_payment_method": method.id}
        )
        made = subscription["items"].data
        assert [item.metadata.to_dict() for item in made] == [{"seat": "admin"}, {}]
        assert sdk.v1.subscription_items.retrieve(made[0].id).metadata.to_dict() == {
            "seat": "admin"
        }

        change: Any = [{"id": made[1].id, "metadata": {"team": "blue"}}]
        updated = sdk.v1.subscriptions.update(subscription.id, params={"items": change})
        assert [item.metadata.to_dict() for item in updated["items"].data] == [
            {"seat": "admin"},
            {"team": "blue"},
        ]
        assert [(item.price, item.quantity) for item in updated["items"].data] == [
            (prices[0], 1),
            (prices[1], 2),
        ]

        before = len(sdk.v1.subscriptions.list(params={"customer": customer.id}).data)
        bad: Any = [{"price": prices[0], "metadata": {"k" * 41: "v"}}]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params={"customer": customer.id, "items": bad})
        assert refused.value.param is not None
        assert refused.value.param.startswith("items[0][metadata]")
        assert len(sdk.v1.subscriptions.list(params={"customer": customer.id}).data) == before

    await in_thread(scenario)
