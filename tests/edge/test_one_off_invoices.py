"""One-off invoices through stripe-python at the REST edge, as Stripe's docs walk them:
Invoice.create for a customer (no subscription), InvoiceItem.create with `invoice`,
finalize_invoice, pay with the customer's default payment method; modify (metadata on any
invoice, the memo on a draft only) and delete of a draft, Stripe's shapes and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn


async def test_a_one_off_invoice_with_stripe_python(payin: PayIn) -> None:
    async with stripe_client(payin, "One-off", "one-off@example.com") as sdk:

        def run() -> None:
            customer = sdk.v1.customers.create(
                params={
                    "payment_method": "pm_card_visa",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                }
            )
            metadata: Any = {"order": "A-7"}
            invoice = sdk.v1.invoices.create(
                params={
                    "customer": customer.id,
                    "auto_advance": False,
                    "collection_method": "charge_automatically",
                    "description": "Design work",
                    "metadata": metadata,
                },
                options={"idempotency_key": "one-off-create"},
            )
            assert (invoice.object, invoice.status, invoice.billing_reason) == (
                "invoice",
                "draft",
                "manual",
            )
            assert (invoice["subscription"], invoice.number) == (None, None)
            assert (invoice.description, invoice.auto_advance) == ("Design work", False)
            assert invoice.collection_method == "charge_automatically"
            assert invoice.lines.data == [] and invoice.amount_due == 0
            item = sdk.v1.invoice_items.create(
                params={
                    "customer": customer.id,
                    "invoice": invoice.id,
                    "amount": 2500,
                    "currency": "usd",
                    "description": "Logo",
                }
            )
            assert (item.invoice, item["subscription"]) == (invoice.id, None)
            memo = sdk.v1.invoices.update(invoice.id, params={"description": "Design work, May"})
            assert (memo.description, memo.amount_due) == ("Design work, May", 2500)
            assert memo.lines.data[0].amount == 2500

            finalized = sdk.v1.invoices.finalize_invoice(invoice.id)
            assert finalized.status == "open" and finalized.number
            with pytest.raises(stripe.InvalidRequestError) as late:
                sdk.v1.invoices.update(invoice.id, params={"description": "Too late"})
            assert late.value.param == "description"
            tagged = sdk.v1.invoices.update(invoice.id, params={"metadata": {"paid_by": "card"}})
            assert tagged.metadata is not None
            assert tagged.metadata.to_dict() == {"order": "A-7", "paid_by": "card"}
            paid = sdk.v1.invoices.pay(invoice.id)
            assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 2500, 0)
            with pytest.raises(stripe.InvalidRequestError) as undeletable:
                sdk.v1.invoices.delete(invoice.id)
            assert undeletable.value.param == "id"

            draft = sdk.v1.invoices.create(params={"customer": customer.id})
            assert draft.auto_advance is False and draft.description is None
            deleted = sdk.v1.invoices.delete(draft.id)
            assert (deleted.id, deleted.object, deleted.deleted) == (draft.id, "invoice", True)
            with pytest.raises(stripe.InvalidRequestError) as gone:
                sdk.v1.invoices.retrieve(draft.id)
            assert gone.value.http_status == 404
            with pytest.raises(stripe.InvalidRequestError) as refused:
                sdk.v1.invoices.create(
                    params={"customer": customer.id, "pending_invoice_items_behavior": "maybe"}
                )
            assert refused.value.param == "pending_invoice_items_behavior"

        await asyncio.to_thread(run)
