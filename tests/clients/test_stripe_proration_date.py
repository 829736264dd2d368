"""Stripe's `proration_date` on `Subscription.modify`: the proration computed as though the
change were made at that moment of the current period, so that the update bills exactly what
`Invoice.create_preview` showed for the same `proration_date` (Stripe's documented way to
charge the previewed proration). A moment outside the current period is refused naming it,
and nothing changes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices

DAY = 86_400


def _half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2))  # positive values: floor(x + 1/2)


def _subscribed(sdk: stripe.StripeClient, currency: str) -> tuple[stripe.Subscription, str]:
    prices = monthly_prices(sdk, 999, 2573, currency=currency, name="Seats")
    customer, method = customer_with_card(sdk, email="prorate@example.com")
    subscription = sdk.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": prices[0], "quantity": 2}],
            "default_payment_method": method,
        }
    )
    return subscription, prices[1]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
async def test_an_update_at_a_proration_date_bills_what_the_preview_showed(
    edge_merchant: EdgeMerchant, currency: str
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription, upgrade = _subscribed(sdk, currency)
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        at = start + 9 * DAY + 7 * 3600 + 13 * 60 + 7
        item = subscription["items"].data[0].id
        change: Any = [{"id": item, "price": upgrade, "quantity": 3}]
        preview = sdk.v1.invoices.create_preview(
            params={
                "subscription": subscription.id,
                "subscription_details": {"items": change, "proration_date": at},
            }
        )
        previewed = sorted(line.amount for line in preview.lines.data if line["proration"])
        left = Fraction(end - at, end - start)
        expected = sorted([-_half_up(2 * 999 * left), _half_up(3 * 2573 * left)])
        assert previewed == expected

        updated = sdk.v1.subscriptions.update(
            subscription.id,
            params={
                "items": change,
                "proration_behavior": "always_invoice",
                "proration_date": at,
            },
        )
        invoice = sdk.v1.invoices.retrieve(str(updated.latest_invoice))
        assert invoice.billing_reason == "subscription_update"
        assert sorted(line.amount for line in invoice.lines.data) == expected
        assert {line.period.start for line in invoice.lines.data} == {at}
        assert (invoice.status, invoice.amount_paid) == ("paid", sum(expected))

    await in_thread(scenario)


async def test_a_proration_date_outside_the_period_is_refused_naming_it(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription, upgrade = _subscribed(sdk, "usd")
        item = subscription["items"].data[0].id
        for at in (subscription["current_period_start"] - 1, subscription["current_period_end"]):
            with pytest.raises(stripe.InvalidRequestError) as refused:
                sdk.v1.subscriptions.update(
                    subscription.id,
                    params={"items": [{"id": item, "price": upgrade}], "proration_date": at},
                )
            assert (refused.value.http_status, refused.value.param) == (400, "proration_date")
        after = sdk.v1.subscriptions.retrieve(subscription.id)
        assert after["items"].data[0].price.id == subscription["items"].data[0].price.id
        invoices = sdk.v1.invoices.list(params={"subscription": subscription.id})
        assert [invoice.id for invoice in invoices.data] == [subscription.latest_invoice]

    await in_thread(scenario)


async def test_subscription_item_routes_prorate_at_a_proration_date(
    edge_merchant: EdgeMerchant,
) -> None:
    """Stripe's SubscriptionItem.modify and SubscriptionItem.create take `proration_date` as
    Subscription.modify does."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription, upgrade = _subscribed(sdk, "usd")
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        at = start + 11 * DAY + 5 * 3600
        left = Fraction(end - at, end - start)
        item = subscription["items"].data[0].id
        sdk.v1.subscription_items.update(
            item,
            params={
                "price": upgrade,
                "proration_behavior": "always_invoice",
                "proration_date": at,
            },
        )
        invoice = sdk.v1.invoices.retrieve(
            str(sdk.v1.subscriptions.retrieve(subscription.id).latest_invoice)
        )
        expected = sorted([-_half_up(2 * 999 * left), _half_up(2 * 2573 * left)])
        assert sorted(line.amount for line in invoice.lines.data) == expected

        product = sdk.v1.prices.retrieve(upgrade).product
        extra = sdk.v1.prices.create(
            params={
                "product": str(product),
                "unit_amount": 333,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        ).id
        sdk.v1.subscription_items.create(
            params={
                "subscription": subscription.id,
                "price": extra,
                "proration_behavior": "always_invoice",
                "proration_date": at,
            }
        )
        invoice = sdk.v1.invoices.retrieve(
            str(sdk.v1.subscriptions.retrieve(subscription.id).latest_invoice)
        )
        assert [line.amount for line in invoice.lines.data] == [_half_up(333 * left)]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.subscription_items.update(item, params={"quantity": 3, "proration_date": end})
        assert (refused.value.http_status, refused.value.param) == (400, "proration_date")

    await in_thread(scenario)
