"""How every mutating RPC runs its change: in one transaction on the owner's shard, through
the idempotency-key store whenever the call carried an `idempotency-key`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from paycore.runtime.context import current_call
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.idempotency import request_fingerprint
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ResponseT = TypeVar("ResponseT", bound=Message)
Change = Callable[[AsyncConnection], Awaitable[ResponseT]]

# Owner of the idempotency keys of admin-token calls that create a tenant.
ADMIN_OWNER = "admin"


class Mutations:
    def __init__(self, shards: Shards, store: IdempotencyStore) -> None:
        self._shards = shards
        self._store = store

    async def for_merchant(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT:
        engine = self._shards.engine_for_merchant(merchant_id)
        return await self.on_engine(
            engine, merchant_id, request, response_type, change, stored_form
        )

    async def on_engine(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT:
        call = current_call()
        if call.idempotency_key is None:
            async with engine.begin() as connection:
                return await change(connection)
        fingerprint = request_fingerprint(call.method, request)
        return await self._store.run(
            engine, owner, call.idempotency_key, fingerprint, response_type, change, stored_form
        )
