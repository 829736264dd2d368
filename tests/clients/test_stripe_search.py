"""stripe-python's Search API against the edge, as Stripe's docs write it:
`Customer.search(query='email:"..."')`, `PaymentIntent.search(query='status:"succeeded" AND
metadata["order"]:"7"')`, `search_auto_paging_iter()` following `next_page`, and the
InvalidRequestError naming `query` for a query paycore cannot parse."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread


async def test_customers_and_payment_intents_searched(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        ada = sdk.v1.customers.create(params={"email": "ada@search.test", "name": "Ada"})
        sdk.v1.customers.create(params={"email": "bob@search.test", "name": "Bob"})
        paid = [
            sdk.v1.payment_intents.create(
                params={
                    "amount": 1000 + step,
                    "currency": "usd",
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                    "metadata": {"order": "7"},
                }
            )
            for step in range(3)
        ]

        found = sdk.v1.customers.search(params={"query": 'email:"ada@search.test"'})
        assert isinstance(found, stripe.SearchResultObject)
        assert [each.id for each in found.data] == [ada.id]
        assert not found.has_more and found.to_dict()["next_page"] is None  # Stripe's null

        query = 'status:"succeeded" AND metadata["order"]:"7"'
        first = sdk.v1.payment_intents.search(params={"query": query, "limit": 2})
        assert first.has_more and first.next_page
        every = [each.id for each in first.auto_paging_iter()]
        assert every == [intent.id for intent in reversed(paid)]

        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.payment_intents.search(params={"query": 'status:"succeeded" AND'})
        assert (refused.value.http_status, refused.value.param) == (400, "query")

    await in_thread(scenario)


async def test_queries_in_single_quotes_as_stripes_docs_write_them(
    edge_merchant: EdgeMerchant,
) -> None:
    """Stripe's search guide quotes values in single quotes (`email:'jenny.rosen@example.com'`,
    `metadata['order_id']:'6735'`, `name:'O\\'Brien'`): the same query in double quotes answers
    the same."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        jenny = sdk.v1.customers.create(
            params={
                "email": "jenny@search.test",
                "name": "O'Brien",
                "metadata": {"order_id": "6735"},
            }
        )
        sdk.v1.customers.create(params={"email": "other@search.test", "name": "Other"})
        for query in (
            "email:'jenny@search.test'",
            "metadata['order_id']:'6735'",
            "name:'O\\'Brien' AND email~'jenny'",
        ):
            found = sdk.v1.customers.search(params={"query": query})
            assert [each.id for each in found.data] == [jenny.id], query

    await in_thread(scenario)


async def test_charges_searched(edge_merchant: EdgeMerchant) -> None:
    """`Charge.search` as Stripe's docs write it, and `search_auto_paging_iter()` over it."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        paid = [
            sdk.v1.payment_intents.create(
                params={
                    "amount": 2000 + step,
                    "currency": "usd",
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                    "metadata": {"order": "c"},
                }
            )
            for step in range(3)
        ]
        query = "status:'succeeded' AND metadata['order']:'c'"
        first = sdk.v1.charges.search(params={"query": query, "limit": 2})
        assert isinstance(first, stripe.SearchResultObject)
        assert first.has_more and first.next_page
        every = [each.id for each in first.auto_paging_iter()]
        assert every == [intent.latest_charge for intent in reversed(paid)]
        large = sdk.v1.charges.search(params={"query": "amount>2001"})
        assert [each.id for each in large.data] == [paid[2].latest_charge]

    await in_thread(scenario)


async def test_the_searches_paycore_lacks_are_unknown_routes(edge_merchant: EdgeMerchant) -> None:
    """Stripe also searches subscriptions, invoices, prices and products. paycore does not:
    their `search` was read as an object's id, and the SDK's call answered `parameter_unknown`
    naming `query`, as if the search were there and the query wrong (found by a black-box
    probe). It is an unknown route, 404, naming the searches paycore has."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        searches = (
            sdk.v1.subscriptions.search,
            sdk.v1.invoices.search,
            sdk.v1.prices.search,
            sdk.v1.products.search,
        )
        for search in searches:
            with pytest.raises(stripe.InvalidRequestError) as refused:
                search(params={"query": "status:'active'"})
            assert (refused.value.http_status, refused.value.code) == (404, "route_unknown")
            assert "/v1/customers/search" in str(refused.value.user_message)
        # A read by id that is not "search" is the same as before.
        with pytest.raises(stripe.InvalidRequestError) as missing:
            sdk.v1.subscriptions.retrieve("sub_nosuch")
        assert missing.value.http_status in (400, 404)

    await in_thread(scenario)
