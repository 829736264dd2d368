"""What the worker tests share: idempotency keys of a chosen age."""

from __future__ import annotations

from datetime import timedelta

from paycore.storage.schema import idempotency_keys
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine


async def store_key(engine: AsyncEngine, owner: str, key: str, age: timedelta) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(idempotency_keys).values(
                merchant_id=owner,
                key=key,
                request_hash=b"h",
                response_status=0,
                response_body=b"",
                created_at=func.now() - age,
            )
        )


async def stored_keys(engine: AsyncEngine, owner: str) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.merchant_id == owner)
        )
        return {row.key for row in rows}
