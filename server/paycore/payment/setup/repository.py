"""SetupIntents' rows on the merchant's shard. SQLAlchemy Core: a setup changes a few times in
its life, off the payments' hot path."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from paycore.invariants import invariant
from paycore.payment.models import (
    NextAction,
    PaymentError,
    SetupIntent,
    SetupStatus,
    SetupUsage,
)
from paycore.payment.setup.machine import check_move
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import setup_intents
from sqlalchemy import Select, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

_AT = {"created": "created_at"}


def _error_json(value: PaymentError | NextAction | None) -> dict[str, str] | None:
    return None if value is None else value.to_json()


decode_setup: Decoder[SetupIntent] = Decoder(
    setup_intents,
    SetupIntent,
    columns=_AT,
    convert={
        "status": SetupStatus,
        "usage": SetupUsage,
        "last_setup_error": lambda value: None if value is None else PaymentError(**value),
        "metadata": dict,
        "next_action": NextAction.from_json,
    },
)
encode_setup: Encoder[SetupIntent] = Encoder(
    setup_intents,
    SetupIntent,
    columns=_AT,
    convert={"last_setup_error": _error_json, "next_action": _error_json},
)
SETUP_INTENTS = Kind("setup_intent", setup_intents, decode_setup)


def setups_query(merchant_id: str, customer_id: str) -> Select[Any]:
    return matching(setup_intents, merchant_id=merchant_id, customer_id=customer_id)


@dataclass(frozen=True, slots=True)
class SetupRepository:
    _connection: AsyncConnection

    async def insert(self, setup: SetupIntent) -> SetupIntent:
        await self._connection.execute(insert(setup_intents).values(**encode_setup.mapping(setup)))
        return setup

    async def get(
        self, merchant_id: str, setup_id: str, *, lock: bool = False
    ) -> SetupIntent | None:
        return await SETUP_INTENTS.fetch(self._connection, merchant_id, setup_id, lock=lock)

    async def move(self, setup: SetupIntent, status: SetupStatus, **changes: Any) -> SetupIntent:
        """The setup (locked by the caller) moved to `status` (machine.check_move: an illegal
        move raises) with the other `changes` of its fields, written and answered."""
        check_move(setup, status)
        return await self.change(setup, status=status, **changes)

    async def change(self, setup: SetupIntent, **changes: Any) -> SetupIntent:
        """The setup (locked by the caller) with `changes` of its fields (its status through
        `move`), written and answered."""
        changed_setup = replace(setup, **changes)
        changed = await self._connection.execute(
            update(setup_intents)
            .where(setup_intents.c.merchant_id == setup.merchant_id, setup_intents.c.id == setup.id)
            .values(**encode_setup.mapping(changed_setup))
        )
        invariant(changed.rowcount == 1, f"setup intent {setup.id} vanished")
        return changed_setup
