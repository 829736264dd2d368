"""`Recorder`, how a service records its objects' events: the composition root builds one per
kind of object with the servicer's converter (the object's message), so domain code hands over
dataclasses and never deals in generated messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from google.protobuf.message import Message
from paycore.events.changes import previous_attributes
from paycore.events.models import NewEvent
from paycore.events.outbox import prepare_event, record_prepared
from sqlalchemy.ext.asyncio import AsyncConnection


class MerchantOwned(Protocol):
    """An object whose events go to its owner (`merchant_id`), on the owner's shard: a
    merchant's, or the platform's for a recorder given `logical_shard_of`."""

    @property
    def merchant_id(self) -> str: ...


Owned = TypeVar("Owned", bound=MerchantOwned)


@dataclass(frozen=True, slots=True)
class Recorder(Generic[Owned]):
    """Records events of one kind of object, rendered by `render`."""

    render: Callable[[Owned], Message]
    logical_shard_of: Callable[[str], int] | None = None
    """The logical shard of an owner that need not be a merchant (reconciliation's "platform":
    paycore.reconciliation.books.owner_logical_shard); None: the merchant's."""

    def prepared(self, kind: str, owned: Owned, *, before: Owned | None = None) -> NewEvent:
        """The event, for a statement that writes it itself (paycore.payment.charging) or a
        batch of several recorders' events (`record_prepared`); `before` as `record`'s."""
        rendered = self.render(owned)
        return prepare_event(
            owned.merchant_id,
            kind,
            rendered,
            logical_shard=self._shard(owned),
            previous_attributes=(
                None if before is None else previous_attributes(self.render(before), rendered)
            ),
        )

    async def record(
        self, connection: AsyncConnection, kind: str, owned: Owned, *, before: Owned | None = None
    ) -> None:
        """In the connection's transaction, which must be on the owner's shard. `before`: the
        object as it was before an update, whose changed fields' old values the event carries
        (Stripe's `data.previous_attributes`, paycore.events.changes)."""
        await record_prepared(connection, [self.prepared(kind, owned, before=before)])

    async def record_each(
        self, connection: AsyncConnection, kind: str, owned: Sequence[Owned]
    ) -> None:
        """One event per object (of any merchants on the connection's shard), one round trip."""
        await record_prepared(connection, [self.prepared(kind, one) for one in owned])

    def _shard(self, owned: Owned) -> int | None:
        shard_of = self.logical_shard_of
        return None if shard_of is None else shard_of(owned.merchant_id)
