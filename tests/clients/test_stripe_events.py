"""stripe-python reads an event's `api_version`, `request` and `pending_webhooks` as Stripe's:
the call that caused it (the `Request-Id` the edge answered, the `Idempotency-Key` it sent),
null for an event no call caused. They raised AttributeError before: the JSON lacked them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import stripe
from paycore.events.servicer.messages import EVENT_API_VERSION

from tests.clients.conftest import EdgeMerchant
from tests.events.support import record
from tests.payment.shop import PayIn


async def test_an_event_names_its_request_and_api_version(
    payin: PayIn, edge_merchant: EdgeMerchant
) -> None:
    background = await record(payin.platform, edge_merchant.merchant_id, "payment_intent.created")

    def scenario() -> None:
        sdk = stripe.StripeClient(
            edge_merchant.secret_key,
            base_addresses={"api": edge_merchant.url},
            max_network_retries=0,
        )
        options: Any = {"idempotency_key": "ada-77"}
        customer = sdk.v1.customers.create(params={"name": "Ada"}, options=options)
        answered = customer.last_response
        assert answered is not None and str(answered.request_id).startswith("req_")
        request_id = answered.request_id

        (listed,) = sdk.v1.events.list(params={"type": "customer.created"}).data
        event = sdk.v1.events.retrieve(listed.id)
        for read in (listed, event):
            assert read.data.object["id"] == customer.id
            assert read.api_version == EVENT_API_VERSION == stripe.api_version
            assert read.request is not None
            assert (read.request.id, read.request.idempotency_key) == (request_id, "ada-77")
            assert read.pending_webhooks == 0

        # An intent's events are written inside the intent's own statements (EventsInsert).
        paid = sdk.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options=cast(Any, {"idempotency_key": "order-9"}),
        )
        answered = paid.last_response
        assert answered is not None
        created = sdk.v1.events.list(params={"type": "payment_intent.created"}).data
        (intent_event,) = [item for item in created if item.data.object["id"] == paid.id]
        assert intent_event.request is not None
        assert (intent_event.request.id, intent_event.request.idempotency_key) == (
            answered.request_id,
            "order-9",
        )

        made = sdk.v1.events.retrieve(background)
        assert made.request is not None
        assert (made.request.id, made.request.idempotency_key) == (None, None)
        assert made.api_version == EVENT_API_VERSION

    await asyncio.to_thread(scenario)
