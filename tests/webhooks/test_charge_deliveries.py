"""Charge events reach webhook endpoints as every event does: an endpoint subscribed to
charge.succeeded and charge.refunded gets them, signed, the body the event as GET
/v1/events/{id} renders it, its data.object a `charge`."""

from __future__ import annotations

import json

from paycore.stripe_json import stripe_json, with_livemode
from paycore.v1 import event_pb2, payment_pb2

from tests.payment.shop import Shop, good_card
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import verified_by_stripe
from tests.webhooks.support import endpoint


async def test_charge_events_are_delivered_signed_to_the_endpoints_asking(
    hooks: Hooks, shop: Shop
) -> None:
    secrets: list[str] = []
    receiver = await hooks.receiver(verified_by_stripe(lambda: secrets))
    created = await endpoint(shop.client, receiver.url, ("charge.succeeded", "charge.refunded"))
    secrets.append(created.secret)
    intent = await shop.pay(good_card(), 1000)
    await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=400)
    )

    await hooks.deliver(hooks.deliverer())

    bodies = [json.loads(received.body) for received in receiver.accepted]
    assert sorted(body["type"] for body in bodies) == ["charge.refunded", "charge.succeeded"]
    assert len(receiver.received) == len(receiver.accepted)  # every signature verified
    for body in bodies:
        assert body["data"]["object"]["object"] == "charge"
        assert body["data"]["object"]["id"] == intent.latest_charge
        assert body["data"]["object"]["payment_intent"] == intent.id
        event = await shop.client.events.GetEvent(event_pb2.GetEventRequest(id=body["id"]))
        assert body == with_livemode(stripe_json(event), False)  # a test-mode merchant's
