"""The delivery log at the REST edge (`GET /v1/webhook_deliveries`): an attempt the endpoint
gave no answer to (a refused connection, a timeout) has no HTTP status, so the delivery's
`last_response_status` and the attempt's `response_status` are null there, not 0 (which no
server answers); an endpoint that answered shows its status. A delivery that did not fail has
no `last_error`, nor an attempt that succeeded its `error`: null, not "" (as Stripe renders
what is not there)."""

from __future__ import annotations

import socket

from aiohttp import ClientSession
from paycore.edge import start_edge

from tests.events.support import record
from tests.payment.shop import Shop
from tests.webhooks.conftest import Hooks
from tests.webhooks.receivers import statuses
from tests.webhooks.support import endpoint


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): a refused connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_attempt_without_an_answer_has_a_null_status(hooks: Hooks, shop: Shop) -> None:
    answering = await hooks.receiver(statuses([500] * 20))
    failing = await endpoint(shop.client, answering.url)
    refused = await endpoint(shop.client, f"http://127.0.0.1:{_closed_port()}/hooks")
    await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer(timeout_seconds=2.0))

    edge = await start_edge(hooks.target, "127.0.0.1:0")
    headers = {"Authorization": f"Bearer {shop.merchant.secret_key}"}
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            rendered = {}
            for made in (failing, refused):
                async with http.get(
                    f"/v1/webhook_deliveries?webhook_endpoint={made.id}", headers=headers
                ) as answer:
                    assert answer.status == 200, await answer.text()
                    (rendered[made.id],) = (await answer.json())["data"]
    finally:
        await edge.close()

    no_answer = rendered[refused.id]
    assert no_answer["last_error"] == "connection_refused", no_answer
    assert no_answer["last_response_status"] is None
    assert no_answer["attempts"]
    assert {attempt["response_status"] for attempt in no_answer["attempts"]} == {None}
    answered = rendered[failing.id]
    assert answered["last_response_status"] == 500
    assert {attempt["response_status"] for attempt in answered["attempts"]} == {500}


async def test_a_delivery_without_an_error_has_a_null_error(hooks: Hooks, shop: Shop) -> None:
    accepting = await hooks.receiver(statuses([200] * 20))
    made = await endpoint(shop.client, accepting.url)
    await record(hooks.platform, shop.id)
    await hooks.deliver(hooks.deliverer(timeout_seconds=2.0))

    edge = await start_edge(hooks.target, "127.0.0.1:0")
    headers = {"Authorization": f"Bearer {shop.merchant.secret_key}"}
    try:
        async with (
            ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http,
            http.get(
                f"/v1/webhook_deliveries?webhook_endpoint={made.id}", headers=headers
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
            (delivered,) = (await answer.json())["data"]
    finally:
        await edge.close()

    assert delivered["status"] == "succeeded", delivered
    assert delivered["last_response_status"] == 200
    assert delivered["last_error"] is None, delivered
    assert delivered["attempts"]
    assert {attempt["error"] for attempt in delivered["attempts"]} == {None}
