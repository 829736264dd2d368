"""An event's Stripe fields `api_version`, `request` and `pending_webhooks` in a webhook body,
the same as GET /v1/events/{id} renders them: `request` names the API call that caused the
event (its request id and idempotency key), null fields for a background job's event."""

from __future__ import annotations

from paycore.events.servicer.messages import EVENT_API_VERSION
from paycore.stripe_json import stripe_json, with_livemode
from paycore.v1 import customer_pb2, event_pb2

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import verified_by_stripe
from tests.webhooks.support import endpoint


async def test_a_delivery_names_the_call_that_caused_it_as_get_does(
    hooks: Hooks, shop: Shop
) -> None:
    secrets: list[str] = []
    receiver = await hooks.receiver(verified_by_stripe(lambda: secrets))
    created = await endpoint(shop.client, receiver.url, ("customer.created",))
    secrets.append(created.secret)
    call = shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Ada"),
        metadata=(("idempotency-key", "ada-once"),),
    )
    customer = await call
    request_id = dict(await call.trailing_metadata())["x-request-id"]
    assert isinstance(request_id, str) and request_id.startswith("req_")
    await record(hooks.platform, shop.id, "customer.created")  # a background job's

    await hooks.deliver(hooks.deliverer())

    bodies = {item.event["data"]["object"]["id"]: item.event for item in receiver.accepted}
    assert len(bodies) == 2, bodies
    caused = bodies.pop(customer.id)
    assert caused["request"] == {"id": request_id, "idempotency_key": "ada-once"}
    assert (caused["api_version"], caused["pending_webhooks"]) == (EVENT_API_VERSION, 0)
    (background,) = bodies.values()
    assert background["request"] == {"id": None, "idempotency_key": None}
    assert background["api_version"] == EVENT_API_VERSION
    for body in (caused, background):
        event = await shop.client.events.GetEvent(event_pb2.GetEventRequest(id=body["id"]))
        assert body == with_livemode(stripe_json(event), False)  # a test-mode merchant's
