"""Exchange rates: what conversions use and GetExchangeRate shows (docs/currencies.md, "Rates").

Rates live on every physical shard (the rates job writes each), so a conversion reads the rate
in the merchant's own transaction. A rate older than `max_age_seconds` is stale: a request that
would convert with it is refused (EXCHANGE_RATE_STALE) before anything changes; a pair without
a rate is CURRENCY_PAIR_UNSUPPORTED. A money movement already done at the PSP (a capture's or
a refund's answer) books with the newest rate there is, stale or not: the money has moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from paycore.currency import repository
from paycore.currency.models import ExchangeRate, PairCursor, Quote, RateView
from paycore.errors import ApiError, Reason
from paycore.invariants import violated
from paycore.storage.reads import Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Clock = Callable[[], float]
IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Rates:
    _reads: Reads
    max_age_seconds: int
    _clock: Clock = time.time

    def now(self) -> int:
        return int(self._clock())

    # -- reads (GetExchangeRate, ListExchangeRates) ----------------------------------------------

    async def get(self, merchant_id: str, base: str, quote: str) -> RateView:
        """The rate a conversion from `base` to `quote` would use now (NOT_FOUND naming `quote`
        when the pair has none)."""
        now = self.now()

        async def lookup(connection: AsyncConnection) -> ExchangeRate | None:
            return await self.newest(connection, base, quote, now)

        rate = await self._reads.find(
            merchant_id, lookup, "exchange_rate", f"{base}/{quote}", param="quote"
        )
        return self.view(rate, now)

    async def list(self, merchant_id: str, base: str, cursor: PairCursor) -> Page[RateView]:
        """A page of the newest rates by pair, after the pair `cursor.starting_after` (or just
        before `cursor.ending_before`: read backwards, handed back in pair order)."""
        now = self.now()
        limit = cursor.limit

        async def lookup(connection: AsyncConnection) -> list[ExchangeRate]:
            if cursor.ending_before is not None:
                before = cursor.ending_before
                return await repository.latest_rates_before(
                    connection, base, now, before, limit + 1
                )
            after = cursor.starting_after
            return await repository.latest_rates(connection, base, now, after, limit + 1)

        found = await self._reads.find(merchant_id, lookup, "exchange_rate", base, param="base")
        kept = found[:limit]
        if cursor.ending_before is not None:
            kept.reverse()
        return Page([self.view(rate, now) for rate in kept], len(found) > limit)

    def view(self, rate: ExchangeRate, now: int) -> RateView:
        if rate.source == IDENTITY:
            # Valid always (valid_from 0 says so), not published: never old, never stale.
            return RateView(rate, 0, False)
        age = max(0, now - rate.valid_from)
        return RateView(rate, age, age > self.max_age_seconds)

    # -- conversions -----------------------------------------------------------------------------

    async def newest(
        self, connection: AsyncConnection, base: str, quote: str, now: int | None = None
    ) -> ExchangeRate | None:
        at = self.now() if now is None else now
        if base == quote:
            return ExchangeRate(base, quote, Decimal(1), IDENTITY, 0, None)
        return await repository.latest_rate(connection, base, quote, at)

    async def usable(
        self, connection: AsyncConnection, base: str, quote: str, param: str
    ) -> ExchangeRate:
        """The rate to convert with now, else CURRENCY_PAIR_UNSUPPORTED (no rate) or
        EXCHANGE_RATE_STALE (too old), naming `param`."""
        now = self.now()
        rate = await self.newest(connection, base, quote, now)
        if rate is None:
            raise ApiError(Reason.CURRENCY_PAIR_UNSUPPORTED, param=param, base=base, quote=quote)
        view = self.view(rate, now)
        if view.stale:
            raise ApiError(
                Reason.EXCHANGE_RATE_STALE,
                param=param,
                base=base,
                quote=quote,
                age_seconds=view.age_seconds,
                max_age_seconds=self.max_age_seconds,
            )
        return rate

    async def booking(self, connection: AsyncConnection, base: str, quote: str) -> ExchangeRate:
        """The rate a movement the PSP already made books with: the newest, whatever its age
        (requests were refused before the PSP call while it was stale or missing)."""
        rate = await self.newest(connection, base, quote)
        if rate is None:
            violated(f"no exchange rate from {base} to {quote} to book with")
        return rate

    # -- the rates job ----------------------------------------------------------------------------

    async def store(self, engine: AsyncEngine, source: str, quotes: Sequence[Quote]) -> int:
        """Stores on the shard behind `engine` the quotes it does not have; how many were new."""
        if not quotes:
            return 0
        async with engine.begin() as connection:
            return await repository.insert_rates(connection, source, quotes)
