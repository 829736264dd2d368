"""SetupIntents' events reach webhook endpoints as every event does: an endpoint subscribed to
`setup_intent.*` types gets them, signed (checked with the Stripe SDK), the body the event as
GET /v1/events/{id} renders it, its `data.object` a `setup_intent`."""

from __future__ import annotations

import json

from paycore.stripe_json import stripe_json, with_livemode
from paycore.v1 import customer_pb2, event_pb2, payment_pb2

from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import verified_by_stripe
from tests.webhooks.support import endpoint


async def test_setup_intent_events_are_delivered_signed_to_the_endpoints_asking(
    hooks: Hooks, shop: Shop
) -> None:
    secrets: list[str] = []
    receiver = await hooks.receiver(verified_by_stripe(lambda: secrets))
    created = await endpoint(
        shop.client, receiver.url, ("setup_intent.succeeded", "setup_intent.setup_failed")
    )
    secrets.append(created.secret)
    customer = await shop.client.customers.CreateCustomer(customer_pb2.CreateCustomerRequest())
    for method in ("pm_card_visa", "pm_card_chargeDeclined"):
        await shop.client.payments.CreateSetupIntent(
            payment_pb2.CreateSetupIntentRequest(
                customer=customer.id, payment_method=method, confirm=True
            )
        )

    await hooks.deliver(hooks.deliverer())

    bodies = [json.loads(received.body) for received in receiver.accepted]
    assert sorted(body["type"] for body in bodies) == [
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
    ]
    assert len(receiver.received) == len(receiver.accepted)  # every signature verified
    for body in bodies:
        assert body["data"]["object"]["object"] == "setup_intent"
        assert body["data"]["object"]["customer"] == customer.id
        event = await shop.client.events.GetEvent(event_pb2.GetEventRequest(id=body["id"]))
        assert body == with_livemode(stripe_json(event), False)  # a test-mode merchant's
