"""Private addresses at delivery time: an endpoint saved while they were allowed (or whose
name later resolves to one: DNS rebinding) is never connected to by a deliverer that forbids
them; the attempt fails with address_forbidden."""

from __future__ import annotations

import ipaddress

import pytest
from paycore.v1 import event_pb2
from paycore.webhooks.addresses import is_forbidden
from paycore.webhooks.sender import Sender

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
    # And by 127.0.0.1 in compatibility digits, which the HTTP client's URL parsing (IDNA)
    # makes the IP literal 127.0.0.1, resolving nothing. Before, the sender judged the host as
    # written, no literal, and the client connected to 127.0.0.1.
    by_digits = await endpoint(
        shop.client, receiver.url.replace("127.0.0.1", "\u2460\u2461\u2466.0.0.1")
    )
    await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer(allow_private=False))

    assert receiver.received == []
    for created in (by_address, by_name, by_digits):
        (refused,) = await deliveries(shop.client, created.id)
        assert refused.status == event_pb2.WEBHOOK_DELIVERY_STATUS_PENDING
        assert {attempt.error for attempt in refused.attempts} == {"address_forbidden"}
        assert all(attempt.response_status == 0 for attempt in refused.attempts)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::10.0.0.1",  # NAT64 (RFC 6052): the gateway connects to 10.0.0.1
        "64:ff9b::127.0.0.1",
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215): 169.254.169.254
        "2002:0a00:0001::1",  # 6to4: 10.0.0.1
        "2002:7f00:0001::",  # 6to4: 127.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo: client 10.0.0.1
        "::10.0.0.1",  # IPv4-compatible (deprecated), 10.0.0.1
    ],
)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_forbidden(address: str) -> None:
    """An IPv6 address that carries an IPv4 one reaches that IPv4 address through the network's
    translator or relay: it is judged as the IPv4 address inside, as an IPv4-mapped one is."""
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::93.184.215.14", "2002:5db8:d70e::1", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
)
def test_an_ipv6_address_carrying_a_global_ipv4_one_is_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("allow_private", [True, False])
async def test_a_stored_url_naming_no_valid_host_is_a_failed_attempt(allow_private: bool) -> None:
    """An endpoint saved before such hosts were refused (`paycore dev` never resolved them):
    its attempt fails as any unreachable one does, so the delivery goes on its schedule.
    Before, the sender raised: no attempt was recorded and the delivery was leased again every
    minute, for ever."""
    sender = Sender(
        timeout_seconds=2.0,
        connections_max=4,
        connections_per_host_max=4,
        allow_private=allow_private,
    )
    try:
        for url in ("http://a..b/hooks", "http://" + "a" * 64 + ".example/hooks"):
            outcome = await sender.post(url, b"{}", {})
            assert (outcome.response_status, outcome.error) == (0, "invalid_url")
    finally:
        await sender.close()
