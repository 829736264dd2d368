"""A subscription in its events (GET /v1/events, and so in webhook bodies, which the same
renderer writes) is the object the API answers: each item's `price` is the Price object, as
Stripe's events carry it. It was the price's id there, while the API rendered the object, so a
receiver's `event.data.object["items"]["data"][0]["price"]["id"]` raised TypeError; the
update's `previous_attributes` names the item's price before the change the same way."""

from __future__ import annotations

from typing import Any

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices


async def test_a_subscriptions_events_carry_each_items_price_object(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        basic, pro = monthly_prices(sdk, 1000, 3000, name="Seats")
        customer, method = customer_with_card(sdk, email="events@example.com")
        items: Any = [{"price": basic, "quantity": 2}]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer, "items": items, "default_payment_method": method}
        )
        item = subscription["items"].data[0]
        change: Any = [{"id": item.id, "price": pro}]
        updated = sdk.v1.subscriptions.update(
            subscription.id, params={"items": change, "proration_behavior": "none"}
        )

        (created,) = sdk.v1.events.list(params={"type": "customer.subscription.created"}).data
        rendered = created.data.object["items"]["data"][0]
        assert rendered["price"]["id"] == basic
        assert (rendered["price"]["object"], rendered["price"]["unit_amount"]) == ("price", 1000)
        assert rendered["price"]["recurring"]["interval"] == "month"
        assert created.data.object["items"] == subscription["items"]  # as the API answered

        # The newest (the first payment's, incomplete to active, came before it).
        changed = sdk.v1.events.list(params={"type": "customer.subscription.updated"}).data[0]
        assert changed.data.object["items"]["data"][0]["price"]["id"] == pro
        assert changed.data.object["items"] == updated["items"]
        previous = changed.data.previous_attributes
        assert previous is not None
        before = previous["items"]["data"][0]
        assert (before["price"]["id"], before["price"]["unit_amount"]) == (basic, 1000)

    await in_thread(scenario)
