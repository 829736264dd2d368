"""An `*.updated` event's webhook body carries Stripe's `data.previous_attributes` (the
changed fields' old values), as GET /v1/events/{id} renders it (docs/webhooks.md)."""

from __future__ import annotations

import json

from paycore.stripe_json import stripe_json, with_livemode
from paycore.v1 import customer_pb2, event_pb2

from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import verified_by_stripe
from tests.webhooks.support import endpoint


async def test_customer_updated_is_delivered_with_previous_attributes(
    hooks: Hooks, shop: Shop
) -> None:
    secrets: list[str] = []
    receiver = await hooks.receiver(verified_by_stripe(lambda: secrets))
    created = await endpoint(shop.client, receiver.url, ("customer.updated",))
    secrets.append(created.secret)
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Ada", email="ada@example.com")
    )
    await shop.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(id=customer.id, name="Ada L.", metadata={"k": "v"})
    )

    await hooks.deliver(hooks.deliverer())

    (received,) = receiver.accepted
    body = json.loads(received.body)
    assert body["type"] == "customer.updated"
    assert body["data"]["previous_attributes"] == {"name": "Ada", "metadata": {"k": None}}
    assert body["data"]["object"]["name"] == "Ada L."
    event = await shop.client.events.GetEvent(event_pb2.GetEventRequest(id=body["id"]))
    assert body == with_livemode(stripe_json(event), False)  # a test-mode merchant's
    assert dict(event.data.previous_attributes)["name"] == "Ada"


async def test_detaching_the_default_card_gives_it_as_previous(hooks: Hooks, shop: Shop) -> None:
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(
            name="Bo",
            payment_method="pm_card_visa",
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method="pm_card_visa"),
        )
    )
    card = customer.invoice_settings.default_payment_method
    assert card
    await shop.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=card)
    )
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.updated", object_id=customer.id)
    )
    (event,) = listed.data
    previous = stripe_json(event)["data"]["previous_attributes"]
    assert list(previous) == ["invoice_settings"], previous
    assert previous["invoice_settings"]["default_payment_method"] == card
    assert (
        stripe_json(event)["data"]["object"]["invoice_settings"]["default_payment_method"] is None
    )
