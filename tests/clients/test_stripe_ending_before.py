"""Stripe's `ending_before` through stripe-python: the page just newer than the cursor, still
newest first, `has_more` saying newer ones remain, and `auto_paging_iter()` walking from it to
the newest object; never beside `starting_after`."""

from __future__ import annotations

import pytest
import stripe
from paycore.ids import Prefix, new_id
from paycore.v1 import (
    account_pb2,
    checkout_pb2,
    currency_pb2,
    customer_pb2,
    dispute_pb2,
    event_pb2,
    executor_pb2,
    fraud_pb2,
    ledger_pb2,
    payment_pb2,
    payout_pb2,
    reconciliation_pb2,
    subscription_pb2,
    wallet_pb2,
)

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client as stripe_client
from tests.clients.test_stripe_python import in_thread

MODULES = (
    account_pb2,
    checkout_pb2,
    currency_pb2,
    customer_pb2,
    dispute_pb2,
    event_pb2,
    executor_pb2,
    fraud_pb2,
    ledger_pb2,
    payment_pb2,
    payout_pb2,
    reconciliation_pb2,
    subscription_pb2,
    wallet_pb2,
)


def test_every_list_request_takes_ending_before() -> None:
    lists = [
        method.input_type
        for module in MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if method.name.startswith("List")
    ]
    assert len(lists) > 30
    lacking = [each.name for each in lists if "ending_before" not in each.fields_by_name]
    assert lacking == []


async def test_customers_ending_before_pages_toward_the_newest(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = stripe_client(edge_merchant)
        made = [sdk.v1.customers.create(params={"name": f"n{n}"}).id for n in range(5)]
        first = sdk.v1.customers.list(params={"ending_before": made[0], "limit": 2})
        assert ([each.id for each in first.data], first.has_more) == ([made[2], made[1]], True)
        last = sdk.v1.customers.list(params={"ending_before": made[2], "limit": 2})
        assert ([each.id for each in last.data], last.has_more) == ([made[4], made[3]], False)
        newest = sdk.v1.customers.list(params={"ending_before": made[4]})
        assert (newest.data, newest.has_more) == ([], False)

        walked = sdk.v1.customers.list(params={"ending_before": made[0], "limit": 2})
        assert [each.id for each in walked.auto_paging_iter()] == made[1:]

        with pytest.raises(stripe.InvalidRequestError) as both:
            sdk.v1.customers.list(params={"ending_before": made[0], "starting_after": made[4]})
        assert (both.value.http_status, both.value.param) == (400, "ending_before")
        with pytest.raises(stripe.InvalidRequestError) as malformed:
            sdk.v1.customers.list(params={"ending_before": "pi_123"})
        assert malformed.value.param == "ending_before"
        # An id the merchant does not have pages from where it sorts, as starting_after does.
        foreign = new_id(Prefix.CUSTOMER, 0, timestamp_ms=1_000)
        before = sdk.v1.customers.list(params={"ending_before": foreign, "limit": 100})
        assert [each.id for each in before.data] == made[::-1]
        assert sdk.v1.customers.list(params={"starting_after": foreign}).data == []

    await in_thread(scenario)


async def test_subscription_items_ending_before_in_the_subscriptions_order(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = stripe_client(edge_merchant)
        product = sdk.v1.products.create(params={"name": "Seats"})
        prices = [
            sdk.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": 100 * (n + 1),
                    "currency": "usd",
                    "recurring": {"interval": "month"},
                }
            ).id
            for n in range(3)
        ]
        customer = sdk.v1.customers.create(params={"name": "Ada"})
        subscription = sdk.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price} for price in prices],
                "trial_period_days": 3,
            }
        )
        items = [item.id for item in subscription["items"]["data"]]
        before = sdk.v1.subscription_items.list(
            params={"subscription": subscription.id, "ending_before": items[2], "limit": 1}
        )
        assert ([each.id for each in before.data], before.has_more) == ([items[1]], True)
        with pytest.raises(stripe.InvalidRequestError) as foreign:
            sdk.v1.subscription_items.list(
                params={"subscription": subscription.id, "ending_before": "si_unknown1"}
            )
        assert foreign.value.param == "ending_before"

    await in_thread(scenario)
