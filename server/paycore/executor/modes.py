"""Each merchant's mode (test or live), which picks the circuit breaker its executions go
through (paycore.executor.breaker.Breakers). A merchant's mode is set when it is created and
never changes, so it is read once per process and kept."""

from __future__ import annotations

from paycore.account.repository import MerchantRepository
from paycore.executor.breaker import Mode
from paycore.storage import Shards
from sqlalchemy.ext.asyncio import AsyncConnection

KNOWN_MAX = 100_000
"""The merchants whose mode a process keeps; past it, it starts over (one read each again)."""


class MerchantModes:
    def __init__(self, shards: Shards) -> None:
        self._shards = shards
        self._known: dict[str, Mode] = {}

    async def of(self, merchant_id: str, connection: AsyncConnection | None = None) -> Mode:
        """The merchant's mode; read on `connection` when given (a transaction already open on
        the merchant's shard), else on a read connection of its shard. A merchant that is not
        found counts as test: what nobody can name live cannot open the live breaker."""
        known = self._known.get(merchant_id)
        if known is not None:
            return known
        if connection is not None:
            merchant = await MerchantRepository(connection).get(merchant_id)
        else:
            async with self._shards.read(merchant_id) as reader:
                merchant = await MerchantRepository(reader).get(merchant_id)
        if merchant is None:
            return Mode.TEST
        mode = Mode.LIVE if merchant.livemode else Mode.TEST
        if len(self._known) >= KNOWN_MAX:
            self._known.clear()
        self._known[merchant_id] = mode
        return mode
