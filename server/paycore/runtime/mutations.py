"""How every mutating RPC runs its change: in one transaction on the owner's shard, through
the idempotency-key store whenever the call carried an `idempotency-key`.

The servicer supplies two steps: `change(connection)`, the domain operation, which returns a
domain object (a dataclass), and `render(result)`, which turns it into the response message.
Both run inside the change's transaction, so the stored answer is exactly what was returned:

    return await self._mutations.for_merchant(
        merchant_id, request, payout_pb2.Payout,
        lambda connection: self._payouts.create(connection, merchant_id, new),
        render=payout_message,
    )

Mutations opens every mutating transaction; domain code receives the connection and never
begins or commits one itself (reads go through `paycore.storage.reads.Reads`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar, overload

from google.protobuf.message import Message
from paycore.errors import ApiError, Reason
from paycore.runtime.context import CallerKind, current_call
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.idempotency import request_fingerprint
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

ResponseT = TypeVar("ResponseT", bound=Message)
ResultT = TypeVar("ResultT")
Change = Callable[[AsyncConnection], Awaitable[ResultT]]
Render = Callable[[ResultT], ResponseT]
Completion = Callable[[ResponseT], Awaitable[ResponseT]]

# Owner of the idempotency keys of admin-token calls that create a tenant.
ADMIN_OWNER = "admin"


class Mutations:
    def __init__(self, shards: Shards, store: IdempotencyStore) -> None:
        self._shards = shards
        self._store = store

    @overload
    async def for_merchant(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        *,
        render: None = None,
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT: ...

    @overload
    async def for_merchant(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResultT],
        *,
        render: Render[ResultT, ResponseT],
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT: ...

    async def for_merchant(
        self,
        merchant_id: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResultT] | Change[ResponseT],
        *,
        render: Render[ResultT, ResponseT] | None = None,
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT:
        engine = self._shards.engine_for_merchant(merchant_id)
        rendered = _rendered(change, render)
        return await self._run(
            engine, idempotency_owner(merchant_id), request, response_type, rendered, stored_form
        )

    @overload
    async def on_engine(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        *,
        render: None = None,
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT: ...

    @overload
    async def on_engine(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResultT],
        *,
        render: Render[ResultT, ResponseT],
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT: ...

    async def on_engine(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        response_type: type[ResponseT],
        change: Change[ResultT] | Change[ResponseT],
        *,
        render: Render[ResultT, ResponseT] | None = None,
        stored_form: Callable[[ResponseT], ResponseT] | None = None,
    ) -> ResponseT:
        rendered = _rendered(change, render)
        return await self._run(engine, owner, request, response_type, rendered, stored_form)

    async def _run(
        self,
        engine: AsyncEngine,
        owner: str,
        request: Message,
        response_type: type[ResponseT],
        rendered: Change[ResponseT],
        stored_form: Callable[[ResponseT], ResponseT] | None,
    ) -> ResponseT:
        call = current_call()
        if call.idempotency_key is None:
            async with engine.begin() as connection:
                return await rendered(connection)
        fingerprint = request_fingerprint(call.method, request)
        return await self._store.run(
            engine, owner, call.idempotency_key, fingerprint, response_type, rendered, stored_form
        )

    async def key_seen(self, merchant_id: str) -> bool:
        """Whether this call's idempotency key was used before (its answer is stored or its
        request is under way): such a call replays or resumes and does nothing new."""
        key = current_call().idempotency_key
        if key is None:
            return False
        async with self._shards.read(merchant_id) as connection:
            return await self._store.exists(connection, idempotency_owner(merchant_id), key)

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
            idempotency_owner(merchant_id),
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


def _rendered(
    change: Change[ResultT] | Change[ResponseT], render: Render[ResultT, ResponseT] | None
) -> Change[ResponseT]:
    """The change followed by its render step, as one step of the transaction."""
    if render is None:
        return change  # type: ignore[return-value]  # the overloads: change gives ResponseT

    async def change_then_render(connection: AsyncConnection) -> ResponseT:
        return render(await change(connection))  # type: ignore[arg-type]

    return change_then_render


def idempotency_owner(merchant_id: str) -> str:
    """The namespace of the call's idempotency keys: the merchant's, one per key class
    (issue 23, item 5): a key used with the public publishable key must never occupy, or
    replay into, the secret key's calls. Secret keys and operators acting for the merchant
    share the merchant's own namespace."""
    caller = current_call().caller
    if caller is None or caller.kind in (
        CallerKind.SECRET_KEY,
        CallerKind.ADMIN,
        CallerKind.INTERNAL,
    ):
        return merchant_id
    return f"{merchant_id}/{caller.kind.value}"
