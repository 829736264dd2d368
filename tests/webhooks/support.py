"""What the webhook tests share: endpoints made over gRPC, the delivery log read back."""

from __future__ import annotations

from paycore.client import Paycore
from paycore.v1 import event_pb2


async def endpoint(
    client: Paycore, url: str, events: tuple[str, ...] = ("*",)
) -> event_pb2.WebhookEndpoint:
    return await client.events.CreateWebhookEndpoint(
        event_pb2.CreateWebhookEndpointRequest(url=url, enabled_events=list(events))
    )


async def deliveries(
    client: Paycore, endpoint_id: str = "", event_id: str = "", status: int = 0
) -> list[event_pb2.WebhookDelivery]:
    found: list[event_pb2.WebhookDelivery] = []
    starting_after = ""
    while True:
        page = await client.events.ListDeliveries(
            event_pb2.ListDeliveriesRequest(
                limit=100,
                webhook_endpoint=endpoint_id,
                event=event_id,
                status=status,  # type: ignore[arg-type]
                starting_after=starting_after,
            )
        )
        found.extend(page.data)
        if not page.has_more:
            return found
        starting_after = page.data[-1].id


async def event_ids(client: Paycore) -> list[str]:
    page = await client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    return [event.id for event in page.data]
