"""Stripe's `items[n][metadata]` on Subscription.create and Subscription.modify: each item
keeps its own metadata (rendered on the subscription's items and by SubscriptionItem.retrieve),
merged on an update as every metadata is; a bad key is refused naming the item's field."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices


async def test_items_keep_their_metadata(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        prices = monthly_prices(sdk, 1500, 700, name="Seats")
        customer, method = customer_with_card(sdk, email="meta@example.com")
        items: Any = [
            {"price": prices[0], "metadata": {"seat": "admin"}},
            {"price": prices[1], "quantity": 2},
        ]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer, "items": items, "default_payment_method": method}
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
        assert [(item.price.id, item.quantity) for item in updated["items"].data] == [
            (prices[0], 1),
            (prices[1], 2),
        ]

        before = len(sdk.v1.subscriptions.list(params={"customer": customer}).data)
        bad: Any = [{"price": prices[0], "metadata": {"k" * 41: "v"}}]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params={"customer": customer, "items": bad})
        assert refused.value.param is not None
        assert refused.value.param.startswith("items[0][metadata]")
        assert len(sdk.v1.subscriptions.list(params={"customer": customer}).data) == before

    await in_thread(scenario)
