"""What the event and worker tests share: events recorded in a committed transaction."""

from __future__ import annotations

from typing import Any

from paycore.app import Platform
from paycore.events import record_event
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import payment_pb2
from redis.asyncio import Redis


def payment_intent(merchant_id: str, amount: int = 1099) -> payment_pb2.PaymentIntent:
    return payment_pb2.PaymentIntent(
        id=new_id(Prefix.PAYMENT_INTENT, logical_shard_of(merchant_id, Prefix.ACCOUNT)),
        amount=amount,
        currency="usd",
        status=payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE,
        amount_capturable=amount,
        metadata={"order": "42"},
    )


async def record(
    platform: Platform,
    merchant_id: str,
    event_type: str = "payment_intent.created",
    amount: int = 1099,
) -> str:
    async with platform.shards.transaction(merchant_id) as connection:
        return await record_event(
            connection, merchant_id, event_type, payment_intent(merchant_id, amount)
        )


async def stream_entries(redis: Redis, stream: str) -> list[dict[str, str]]:
    """The stream's entries, oldest first, their fields decoded."""
    entries: Any = await redis.xrange(stream)
    return [
        {name.decode(): value.decode() for name, value in fields.items()} for _, fields in entries
    ]
