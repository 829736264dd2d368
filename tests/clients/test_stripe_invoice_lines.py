"""A subscription's invoice lines and items as stripe-python reads them: a line's billed period
is `line.period.start` / `.end` (Stripe's shape), and the nested lists' `url`s, which the SDK
pages through (`Invoice.list_lines`, `SubscriptionItem.list`), answer those lists."""

from __future__ import annotations

import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, customer_with_card, in_thread, monthly_prices


def _subscribed(sdk: stripe.StripeClient) -> stripe.Subscription:
    prices = monthly_prices(sdk, 1500, 700, name="Team plan")
    customer, method = customer_with_card(sdk, email="lines@example.com")
    return sdk.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": prices[0], "quantity": 2}, {"price": prices[1]}],
            "default_payment_method": method,
        }
    )


async def test_a_line_shows_its_period_as_stripe_does(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription = _subscribed(sdk)
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        for line in invoice.lines.data:
            assert line.period.start == subscription["current_period_start"]
            assert line.period.end == subscription["current_period_end"]

    await in_thread(scenario)


async def test_the_nested_lists_urls_answer_their_lists(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription = _subscribed(sdk)
        invoice = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
        lines = sdk.v1.invoices.line_items.list(invoice.id, params={"limit": 1})
        assert [line.amount for line in lines.data] == [3000] and lines.has_more
        paged = [(line.id, line.amount) for line in lines.auto_paging_iter()]
        assert [amount for _, amount in paged] == [3000, 700]
        assert [line_id for line_id, _ in paged] == [line.id for line in invoice.lines.data]
        assert all(line_id.startswith("il_") for line_id, _ in paged)
        items = sdk.v1.subscription_items.list(params={"subscription": subscription.id, "limit": 1})
        assert isinstance(items.data[0], stripe.SubscriptionItem)
        assert [(item.id, item.quantity) for item in items.auto_paging_iter()] == [
            (item.id, item.quantity) for item in subscription["items"].data
        ]

    await in_thread(scenario)


async def test_items_show_the_current_period_as_stripes_current_api_does(
    edge_merchant: EdgeMerchant,
) -> None:
    """Since Stripe's 2025 API a subscription's period is read on its items
    (`items.data[0].current_period_end`), as the installed SDK's documentation reads it."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        subscription = _subscribed(sdk)
        period = (subscription["current_period_start"], subscription["current_period_end"])
        for item in subscription["items"].data:
            assert (item["current_period_start"], item["current_period_end"]) == period
        listed = sdk.v1.subscription_items.list(params={"subscription": subscription.id})
        assert {(item.current_period_start, item.current_period_end) for item in listed} == {period}

    await in_thread(scenario)
