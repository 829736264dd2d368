"""Webhook endpoints: create (with its secret, shown once), read, update, delete, roll the
secret. Mutations receive the connection of the transaction Mutations opened; reads go through
Reads. Destinations are checked (addresses.py) by the caller before the transaction, since
checking one resolves its host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from paycore.errors import ApiError, Reason, not_found
from paycore.ids import Prefix, new_merchant_id
from paycore.storage.reads import Cursor, Page, Reads
from paycore.webhooks import repository
from paycore.webhooks.models import (
    Deleted,
    Endpoint,
    EndpointChange,
    EndpointStatus,
    EndpointWithSecret,
    NewEndpoint,
)
from paycore.webhooks.repository import EndpointRepository
from paycore.webhooks.sealing import SecretBox
from paycore.webhooks.signing import new_secret
from sqlalchemy.ext.asyncio import AsyncConnection

ENDPOINTS_PER_MERCHANT_MAX = 16
# How long the secret before a roll keeps signing deliveries beside the new one.
ROLL_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Endpoints:
    _reads: Reads
    _box: SecretBox

    async def create(
        self, connection: AsyncConnection, merchant_id: str, new: NewEndpoint, created: int
    ) -> EndpointWithSecret:
        store = EndpointRepository(connection)
        await store.lock_merchant(merchant_id)
        if await store.count(merchant_id) >= ENDPOINTS_PER_MERCHANT_MAX:
            raise ApiError(Reason.WEBHOOK_ENDPOINT_LIMIT, maximum=ENDPOINTS_PER_MERCHANT_MAX)
        endpoint = Endpoint(
            id=new_merchant_id(Prefix.WEBHOOK_ENDPOINT, merchant_id),
            merchant_id=merchant_id,
            url=new.url,
            enabled_events=new.enabled_events,
            description=new.description,
            metadata=new.metadata,
            api_version=new.api_version,
            status=EndpointStatus.ENABLED,
            created=created,
        )
        secret = new_secret()
        await store.insert(endpoint, self._box.seal(secret, merchant_id, endpoint.id))
        return EndpointWithSecret(endpoint, secret)

    async def get(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        return await self._reads.one(merchant_id, repository.ENDPOINTS, endpoint_id)

    async def list(self, merchant_id: str, cursor: Cursor) -> Page[Endpoint]:
        return await self._reads.page(merchant_id, repository.ENDPOINTS, cursor)

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        endpoint_id: str,
        change: EndpointChange,
    ) -> Endpoint:
        store = EndpointRepository(connection)
        row = await store.locked(merchant_id, endpoint_id)
        if row is None:
            raise not_found("webhook_endpoint", endpoint_id)
        values = _changed_values(change, row.metadata)
        if not values:
            return repository.decode_endpoint(row)
        if change.status is EndpointStatus.DISABLED and row.status != change.status:
            await store.park_deliveries(merchant_id, endpoint_id)
        if change.status is EndpointStatus.ENABLED and row.status != change.status:
            await store.unpark_deliveries(merchant_id, endpoint_id)
        return await store.update(merchant_id, endpoint_id, values)

    async def delete(
        self, connection: AsyncConnection, merchant_id: str, endpoint_id: str
    ) -> Deleted:
        store = EndpointRepository(connection)
        if await store.locked(merchant_id, endpoint_id) is None:
            raise not_found("webhook_endpoint", endpoint_id)
        await store.delete(merchant_id, endpoint_id)
        return Deleted(endpoint_id)

    async def roll_secret(
        self, connection: AsyncConnection, merchant_id: str, endpoint_id: str, now: datetime
    ) -> EndpointWithSecret:
        """A new secret; the current one keeps signing beside it for ROLL_OVERLAP (a roll
        during an overlap ends the older overlap: two secrets at most)."""
        store = EndpointRepository(connection)
        row = await store.locked(merchant_id, endpoint_id)
        if row is None:
            raise not_found("webhook_endpoint", endpoint_id)
        secret = new_secret()
        # The previous secret is re-sealed under its new role (the seal binds the row's id).
        current = self._box.open(row.secret, merchant_id, endpoint_id)
        endpoint = await store.update(
            merchant_id,
            endpoint_id,
            {
                "secret": self._box.seal(secret, merchant_id, endpoint_id),
                "previous_secret": self._box.seal(current, merchant_id, endpoint_id),
                "previous_secret_expires_at": now + ROLL_OVERLAP,
            },
        )
        return EndpointWithSecret(endpoint, secret)


def _changed_values(change: EndpointChange, metadata: dict[str, str]) -> dict[str, object]:
    """The columns an update writes: the fields it names (`metadata`, the stored metadata
    it merges into; an empty value removes a key)."""
    values: dict[str, object] = {}
    if change.url is not None:
        values["url"] = change.url
    if change.enabled_events:
        values["enabled_events"] = list(change.enabled_events)
    if change.description is not None:
        values["description"] = change.description
    if change.metadata:
        values["metadata"] = change.metadata.applied_to(metadata)
    if change.status is not None:
        values["status"] = change.status.value
        if change.status is EndpointStatus.ENABLED:
            values["failing_since"] = None  # enabled again: a fresh three days
    return values
