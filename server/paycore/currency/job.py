"""The rates job (the worker's `exchange_rates`): asks the provider for its current rates,
outside any transaction, and stores on the shard the pairs it does not have yet (each shard
keeps every rate: conversions read them in the merchant's transaction). Idempotent: a rate is
keyed by pair, source and valid_from. One answer of the provider (or its failure) serves every
shard for `interval_seconds`, so a provider that is down costs one timeout per interval."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import aiohttp
from paycore.currency.providers import Published, RatesProvider, cross_quotes
from paycore.currency.rates import Rates
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)


class ExchangeRatesJob:
    name = "exchange_rates"

    def __init__(
        self,
        provider: RatesProvider,
        rates: Rates,
        interval_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.rates = rates
        self.interval_seconds = interval_seconds
        self._monotonic = monotonic
        self._fetched_at: float | None = None
        self._published: Published | None = None

    async def run(self, engine: AsyncEngine) -> int:
        published = await self._publication()
        if published is None:
            return 0
        return await self.rates.store(engine, published.source, cross_quotes(published))

    async def _publication(self) -> Published | None:
        now = self._monotonic()
        if self._fetched_at is not None and now - self._fetched_at < self.interval_seconds:
            return self._published
        self._fetched_at = now
        try:
            self._published = await self.provider.fetch()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
            logger.warning("exchange rates unavailable: %s", type(error).__name__)
            self._published = None
        return self._published
