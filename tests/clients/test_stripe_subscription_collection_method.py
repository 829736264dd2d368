"""Stripe's `collection_method` on a subscription: `charge_automatically` (Stripe's default,
which stripe-python users often pass explicitly) is taken by Subscription.create and
Subscription.modify and rendered on the subscription, as Stripe's; `send_invoice` (not built)
is refused naming the field, creating nothing."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import card, client, in_thread
from tests.payment.shop import good_card


async def test_charge_automatically_is_taken_and_shown(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        product = sdk.v1.products.create(params={"name": "Auto"})
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1500,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        ).id
        customer = sdk.v1.customers.create(params={"email": "auto@example.com"})
        method = card(sdk, good_card())
        sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
        params: Any = {
            "customer": customer.id,
            "items": [{"price": price}],
            "default_payment_method": method.id,
        }
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscriptions.create(params=params | {"collection_method": "send_invoice"})
        assert (refused.value.http_status, refused.value.param) == (400, "collection_method")
        listed = sdk.v1.subscriptions.list(params={"customer": customer.id, "status": "all"})
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
