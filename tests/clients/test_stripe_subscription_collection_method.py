"""Stripe's `collection_method` on a subscription: `charge_automatically` (Stripe's default,
which stripe-python users often pass explicitly) is taken by Subscription.create and
Subscription.modify and rendered on the subscription, as Stripe's; `send_invoice` (not built)
is refused naming the field, creating nothing."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices


async def test_charge_automatically_is_taken_and_shown(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        [price] = monthly_prices(sdk, 1500, name="Auto")
        customer, method = customer_with_card(sdk, email="auto@example.com")
        params: Any = {
            "customer": customer,
            "items": [{"price": price}],
            "default_payment_method": method,
        }
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params=params | {"collection_method": "send_invoice"})
        assert (refused.value.http_status, refused.value.param) == (400, "collection_method")
        listed = sdk.v1.subscriptions.list(params={"customer": customer, "status": "all"})
        assert listed.data == []

        subscription = sdk.v1.subscriptions.create(
            params=params | {"collection_method": "charge_automatically"}
        )
        assert subscription.status == "active"
        assert subscription.collection_method == "charge_automatically"
        updated = sdk.v1.subscriptions.update(
            subscription.id, params={"collection_method": "charge_automatically"}
        )
        assert updated.collection_method == "charge_automatically"
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.update(
                subscription.id, params={"collection_method": "send_invoice"}
            )
        assert (refused.value.http_status, refused.value.param) == (400, "collection_method")

    await in_thread(scenario)
