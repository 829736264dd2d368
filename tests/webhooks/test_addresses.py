"""Private addresses at delivery time: an endpoint saved while they were allowed (or whose
name later resolves to one: DNS rebinding) is never connected to by a deliverer that forbids
them; the attempt fails with address_forbidden."""

from __future__ import annotations

from paycore.v1 import event_pb2

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import ok
from tests.webhooks.support import deliveries, endpoint


async def test_a_deliverer_forbidding_private_addresses_never_connects_to_one(
    hooks: Hooks, shop: Shop
) -> None:
    receiver = await hooks.receiver(ok)
    by_address = await endpoint(shop.client, receiver.url)
    # The same receiver by a name that resolves to 127.0.0.1 at delivery time.
    by_name = await endpoint(shop.client, receiver.url.replace("127.0.0.1", "localhost"))
    await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer(allow_private=False))

    assert receiver.received == []
    for created in (by_address, by_name):
        (refused,) = await deliveries(shop.client, created.id)
        assert refused.status == event_pb2.WEBHOOK_DELIVERY_STATUS_PENDING
        assert {attempt.error for attempt in refused.attempts} == {"address_forbidden"}
        assert all(attempt.response_status == 0 for attempt in refused.attempts)
