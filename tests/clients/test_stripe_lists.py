"""stripe-python's list calls with the filters a Stripe user writes (`status="all"`,
`type="charge"`, `created={"gte": ...}`), against the edge."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import card, client, in_thread
from tests.payment.shop import good_card


def _subscribed(sdk: stripe.StripeClient, customer: str, price: str) -> stripe.Subscription:
    return sdk.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": price}], "trial_period_days": 3}
    )


async def test_subscription_list_status_all_includes_the_canceled(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        product = sdk.v1.products.create(params={"name": "Pro plan"})
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1500,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        )
        customer = sdk.v1.customers.create(params={"email": "sub@example.com"})
        kept = _subscribed(sdk, customer.id, price.id)
        ended = _subscribed(sdk, customer.id, price.id)
        assert sdk.v1.subscriptions.cancel(ended.id).status == "canceled"

        default = sdk.v1.subscriptions.list(params={"customer": customer.id})
        assert [each.id for each in default.data] == [kept.id]
        every = sdk.v1.subscriptions.list(params={"customer": customer.id, "status": "all"})
        assert [each.id for each in every.auto_paging_iter()] == [ended.id, kept.id]
        over = sdk.v1.subscriptions.list(params={"status": "ended"})
        assert [each.id for each in over.data] == [ended.id]

    await in_thread(scenario)


async def test_balance_transaction_list_type_charge(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        method = card(sdk, good_card())
        paid = sdk.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "payment_method": method.id, "confirm": True}
        )
        charges = sdk.v1.balance_transactions.list(params={"type": "charge"})
        [transaction] = charges.data
        assert (transaction.type, transaction.source) == ("charge", paid.id)
        assert sdk.v1.balance_transactions.list(params={"type": "refund"}).data == []

    await in_thread(scenario)


async def test_payment_intent_and_customer_list_by_created(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        customer = sdk.v1.customers.create(params={"email": "dated@example.com"})
        intent = sdk.v1.payment_intents.create(
            params={"amount": 1000, "currency": "usd", "customer": customer.id}
        )
        since = sdk.v1.payment_intents.list(params={"created": {"gte": intent.created}})
        assert [each.id for each in since.data] == [intent.id]
        later = sdk.v1.payment_intents.list(params={"created": {"gt": intent.created}})
        assert later.data == []
        exact = sdk.v1.payment_intents.list(params={"created": intent.created})
        assert [each.id for each in exact.data] == [intent.id]  # Stripe's created=<seconds>
        before = sdk.v1.customers.list(
            params={"created": {"lte": customer.created}, "email": "dated@example.com"}
        )
        assert [each.id for each in before.data] == [customer.id]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.customers.list(params={"created": {"lt": -1}})
        assert refused.value.param == "created[lt]"

    await in_thread(scenario)
