"""stripe-python's customer deletion against the REST edge, as a merchant calls it:
`StripeClient(...).v1.customers.delete(id)` (`stripe.Customer.delete`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import stripe
from paycore.edge import start_edge

from tests.clients.conftest import EdgeMerchant, new_edge_merchant
from tests.payment.shop import PayIn


@pytest_asyncio.fixture
async def stripe_user(payin: PayIn) -> AsyncIterator[EdgeMerchant]:
    server = await start_edge(payin.target, "127.0.0.1:0")
    try:
        yield await new_edge_merchant(payin, f"http://127.0.0.1:{server.port}")
    finally:
        await server.close()


async def test_stripe_python_deletes_a_customer(stripe_user: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = stripe.StripeClient(
            stripe_user.secret_key,
            base_addresses={"api": stripe_user.url},
            max_network_retries=0,
        )
        customer = sdk.v1.customers.create(params={"email": "leaving@example.com"})
        method = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})

        deleted = sdk.v1.customers.delete(customer.id)

        assert isinstance(deleted, stripe.Customer)
        assert (deleted.id, deleted.deleted) == (customer.id, True)
        with pytest.raises(stripe.InvalidRequestError) as missing:
            sdk.v1.customers.retrieve(customer.id)
        assert missing.value.http_status == 404 and missing.value.param == "id"
        assert sdk.v1.payment_methods.retrieve(method.id).customer is None
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.payment_intents.create(
                params={"amount": 1000, "currency": "usd", "customer": customer.id}
            )
        assert refused.value.param == "customer"

    await asyncio.to_thread(scenario)
