"""Invoice items over the REST edge, as stripe-python users manage them: InvoiceItem.list
(customer, pending), retrieve, modify and delete (Stripe's deleted stub) of a pending item;
an item the renewal took is listed under its invoice and is no longer editable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import stripe

from tests.edge.helpers import stripe_client


@pytest_asyncio.fixture
async def sdk(payin: Any) -> AsyncIterator[stripe.StripeClient]:
    async with stripe_client(payin, "Items user", "dev@items.test") as client:
        yield client


async def test_invoice_items_listed_modified_and_deleted_with_stripe_python(
    sdk: stripe.StripeClient,
) -> None:
    def scenario() -> None:
        customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
        product = sdk.v1.products.create(params={"name": "Gold"})
        recurring: Any = {"interval": "month"}
        price = sdk.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 1000,
                "currency": "usd",
                "recurring": recurring,
            }
        )
        items: Any = [{"price": price.id}]
        subscription = sdk.v1.subscriptions.create(
            params={"customer": customer.id, "items": items, "trial_period_days": 7}
        )
        made = [
            sdk.v1.invoice_items.create(
                params={
                    "customer": customer.id,
                    "subscription": subscription.id,
                    "amount": amount,
                    "currency": "usd",
                }
            )
            for amount in (300, 400)
        ]
        listed = sdk.v1.invoice_items.list(params={"customer": customer.id, "pending": True})
        assert [each.id for each in listed.auto_paging_iter()] == [made[1].id, made[0].id]
        assert listed.data[0].object == "invoiceitem"

        modified = sdk.v1.invoice_items.update(
            made[0].id, params={"amount": 350, "description": "Setup", "metadata": {"k": "v"}}
        )
        assert (modified.amount, modified.description) == (350, "Setup")
        assert modified.metadata is not None and modified.metadata.to_dict() == {"k": "v"}
        assert sdk.v1.invoice_items.retrieve(made[0].id).amount == 350
        deleted = sdk.v1.invoice_items.delete(made[1].id)
        assert (deleted.id, deleted.object, deleted.deleted) == (made[1].id, "invoiceitem", True)
        with pytest.raises(stripe.InvalidRequestError) as gone:
            sdk.v1.invoice_items.retrieve(made[1].id)
        assert gone.value.http_status == 404
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.invoice_items.update(made[0].id, params={"quantity": 2})
        assert refused.value.param == "quantity"
        remaining = sdk.v1.invoice_items.list(params={"pending": True})
        assert [each.id for each in remaining.data] == [made[0].id]
        billed = sdk.v1.invoice_items.list(params={"pending": False})
        assert billed.data == []

    await asyncio.to_thread(scenario)
