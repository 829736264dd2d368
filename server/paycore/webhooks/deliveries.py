"""The delivery log (ListDeliveries: deliveries with their attempts) and resending an event to
an endpoint (a new delivery, due at once, with its own three days of retries)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events.types import is_merchant_event_type
from paycore.ids import Prefix, new_merchant_id
from paycore.storage.reads import Cursor, Page, fetch_page
from paycore.storage.schema import webhook_deliveries
from paycore.storage.shards import Shards
from paycore.webhooks import repository
from paycore.webhooks.models import Delivery, DeliveryFilter, EndpointStatus
from paycore.webhooks.repository import EndpointRepository, NewDelivery
from paycore.webhooks.schedule import GIVE_UP_AFTER
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Deliveries:
    _shards: Shards
    _give_up_after: timedelta = GIVE_UP_AFTER
    """How long after it is made a resent delivery is last attempted (the schedule's)."""

    async def list(self, merchant_id: str, where: DeliveryFilter, cursor: Cursor) -> Page[Delivery]:
        """NOT_FOUND when the filter names an endpoint or event the merchant does not have."""
        async with self._shards.read(merchant_id) as connection:
            if where.endpoint_id:
                found = await connection.execute(
                    repository.ENDPOINTS.by_id(merchant_id, where.endpoint_id)
                )
                if found.first() is None:
                    raise not_found("webhook_endpoint", where.endpoint_id, "webhook_endpoint")
            if where.event_id and not await repository.event_exists(
                connection, merchant_id, where.event_id
            ):
                raise not_found("event", where.event_id, "event")
            page = await fetch_page(
                connection,
                repository.deliveries_listed(merchant_id, where),
                webhook_deliveries,
                cursor,
                repository.decode_delivery,
            )
            attempts = await repository.attempts_of(
                connection, merchant_id, [delivery.id for delivery in page.data]
            )
        return Page(
            [
                replace(delivery, attempts=tuple(attempts.get(delivery.id, ())))
                for delivery in page.data
            ],
            page.has_more,
        )

    async def resend(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        event_id: str,
        endpoint_id: str,
        now: datetime,
    ) -> Delivery:
        """A new delivery of the event to the endpoint, as Stripe's resend: only to an enabled
        endpoint that wants the event's type (else INVALID_ARGUMENT naming `webhook_endpoint`,
        nothing queued). An operators' event, which no merchant endpoint is ever sent, is
        NOT_FOUND as for a missing one (as GetEvent answers a merchant's key)."""
        row = await EndpointRepository(connection).locked(merchant_id, endpoint_id)
        if row is None:
            raise not_found("webhook_endpoint", endpoint_id, "webhook_endpoint")
        endpoint = repository.decode_endpoint(row)
        event_type = await repository.event_type_of(connection, merchant_id, event_id)
        if event_type is None or not is_merchant_event_type(event_type):
            raise not_found("event", event_id)
        if endpoint.status != EndpointStatus.ENABLED:
            raise ApiError(
                Reason.WEBHOOK_ENDPOINT_DISABLED, param="webhook_endpoint", id=endpoint_id
            )
        if not endpoint.wants(event_type):
            raise invalid(
                "webhook_endpoint",
                f"{endpoint_id} is not sent {event_type} events (its enabled_events); "
                "add the type to them to resend this event there",
            )
        delivery_id = new_merchant_id(Prefix.WEBHOOK_DELIVERY, merchant_id)
        await repository.insert_deliveries(
            connection,
            [NewDelivery(merchant_id, delivery_id, event_id, endpoint_id, event_type)],
            [now],
            now,
            now + self._give_up_after,
        )
        return await repository.delivery(connection, merchant_id, delivery_id)
