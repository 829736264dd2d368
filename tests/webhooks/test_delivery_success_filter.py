"""ListEvents' `delivery_success` (Stripe's): false lists the events with a webhook delivery
not succeeded (pending or failed), true those whose every delivery succeeded; an event sent
to no endpoint is in neither (docs/webhooks.md)."""

from __future__ import annotations

from paycore.v1 import customer_pb2, event_pb2

from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import ok, statuses
from tests.webhooks.support import endpoint


async def test_list_events_filters_by_delivery_success(hooks: Hooks, shop: Shop) -> None:
    good = await hooks.receiver(ok)
    failing = await hooks.receiver(statuses([500] * 50))
    await endpoint(shop.client, good.url, ("customer.created", "customer.updated"))
    await endpoint(shop.client, failing.url, ("customer.updated",))
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(name="Ada")
    )
    await shop.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(id=customer.id, name="Ada L.")
    )
    await shop.client.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(id=customer.id))

    await hooks.deliver(hooks.deliverer())

    async def types(delivery_success: bool | None = None) -> list[str]:
        request = event_pb2.ListEventsRequest(object_id=customer.id)
        if delivery_success is not None:
            request.delivery_success = delivery_success
        listed = await shop.client.events.ListEvents(request)
        return sorted(event.type for event in listed.data)

    assert await types() == ["customer.created", "customer.deleted", "customer.updated"]
    assert await types(delivery_success=True) == ["customer.created"]
    assert await types(delivery_success=False) == ["customer.updated"]
