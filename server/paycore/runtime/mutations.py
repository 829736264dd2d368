"""How every mutating RPC runs its change: in one transaction on the owner's shard, through
the idempotency-key store whenever the call carried an `idempotency-key`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from google.protobuf.message import Message
from paycore.errors import ApiError, Reason
from paycore.runtime.context import current_call
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.idempotency import request_fingerprint
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ResponseT = TypeVar("ResponseT", bound=Message)
Change = Callable[[AsyncConnection], Awaitable[ResponseT]]
Completion = Callable[[ResponseT], Awaitable[ResponseT]]

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

    async def key_seen(self, merchant_id: str) -> bool:
        """Whether this call's idempotency key was used before (its answer is stored or its
        request is under way): such a call replays or resumes and does nothing new."""
        key = current_call().idempotency_key
        if key is None:
            return False
        async with self._shards.read(merchant_id) as connection:
            return await self._store.exists(connection, merchant_id, key)

    async def phased(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        record: Change[ResponseT],
        complete: Completion[ResponseT],
        lease: timedelta,
    ) -> ResponseT:
        """A change that reaches a PSP: `record` commits the request's records (its recovery
        point), then `complete` runs outside any transaction (paycore.storage.idempotency)."""
        engine = self._shards.engine_for_merchant(merchant_id)
        call = current_call()
        if call.idempotency_key is None:
            async with engine.begin() as connection:
                recorded = await record(connection)
            return await complete(recorded)
        fingerprint = request_fingerprint(call.method, request)
        return await self._store.run_phased(
            engine,
            merchant_id,
            call.idempotency_key,
            fingerprint,
            response_type,
            record,
            complete,
            lease,
        )

    async def resume(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        complete: Completion[ResponseT],
        lease: timedelta,
    ) -> ResponseT:
        """A phased call whose key is known (`key_seen`): its stored answer, or the resumption
        of its completion. Its first phase never runs again."""

        async def already_recorded(connection: AsyncConnection) -> ResponseT:
            # Only reached if the key vanished in between (pruned): ask for a retry.
            raise ApiError(Reason.IDEMPOTENCY_KEY_IN_USE, param="idempotency-key")

        return await self.phased(
            merchant_id, request, response_type, already_recorded, complete, lease
        )
