"""Transaction-scoped advisory locks: one writer at a time for a set of rows that has no row to
lock yet (a count limit, a duplicate check before the insert)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection


async def lock_until_commit(connection: AsyncConnection, name: str) -> None:
    """Waits for, then holds until this transaction ends, the advisory lock named `name` (a
    64-bit hash of it): every other transaction taking the same name waits its turn."""
    await connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))
