"""An invoice's `status_transitions` (finalized_at, paid_at, voided_at,
marked_uncollectible_at: null until each happens) and its lines' `type` ("subscription" for an
item's period, "invoiceitem" for an invoice item) and `subscription`, as stripe-python reads
them at the REST edge."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from tests.edge.helpers import stripe_client
from tests.payment.shop import PayIn

NOT_YET = {
    "finalized_at": None,
    "marked_uncollectible_at": None,
    "paid_at": None,
    "voided_at": None,
}


def _transitions(invoice: Any) -> dict[str, Any]:
    return dict(invoice["status_transitions"].to_dict())


async def test_status_transitions_and_line_types_with_stripe_python(payin: PayIn) -> None:
    async with stripe_client(payin, "Transitions", "transitions@example.com") as sdk:

        def run(sdk: stripe.StripeClient = sdk) -> None:
            customer = sdk.v1.customers.create(
                params={
                    "payment_method": "pm_card_visa",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                }
            )
            price = sdk.v1.prices.create(
                params={
                    "unit_amount": 1200,
                    "currency": "usd",
                    "recurring": {"interval": "month"},
                    "product_data": {"name": "Gold"},
                }
            )
            subscription = sdk.v1.subscriptions.create(
                params={"customer": customer.id, "items": [{"price": price.id}]}
            )
            renewal = sdk.v1.invoices.retrieve(str(subscription.latest_invoice))
            moments = _transitions(renewal)
            assert renewal.status == "paid" and moments["finalized_at"] is not None
            assert moments["paid_at"] == renewal["paid_at"] is not None
            assert (moments["voided_at"], moments["marked_uncollectible_at"]) == (None, None)
            line = renewal.lines.data[0]
            assert (line["type"], line["subscription"]) == ("subscription", subscription.id)

            draft = sdk.v1.invoices.create(params={"customer": customer.id})
            assert _transitions(draft) == NOT_YET
            sdk.v1.invoice_items.create(
                params={
                    "customer": customer.id,
                    "invoice": draft.id,
                    "amount": 900,
                    "currency": "usd",
                }
            )
            lines = sdk.v1.invoices.line_items.list(draft.id)
            assert [(each["type"], each["subscription"]) for each in lines.data] == [
                ("invoiceitem", None)
            ]
            opened = sdk.v1.invoices.finalize_invoice(draft.id)
            assert _transitions(opened)["finalized_at"] is not None
            assert _transitions(opened)["paid_at"] is None
            marked = sdk.v1.invoices.mark_uncollectible(draft.id)
            assert _transitions(marked)["marked_uncollectible_at"] is not None
            voided = sdk.v1.invoices.void_invoice(draft.id)
            moments = _transitions(voided)
            assert moments["voided_at"] is not None and moments["paid_at"] is None
            assert moments["marked_uncollectible_at"] is not None  # it happened, and stays

        await asyncio.to_thread(run)
