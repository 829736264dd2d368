"""The rates job (the worker's `exchange_rates`): asks the provider for its current rates,
outside any transaction, and stores on the shard the pairs it does not have yet (each shard
keeps every rate: conversions read them in the merchant's transaction). Idempotent: a rate is
keyed by pair, source and valid_from."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from paycore.currency.providers import RatesProvider, cross_quotes
from paycore.currency.rates import Rates
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExchangeRatesJob:
    provider: RatesProvider
    rates: Rates
    interval_seconds: float = 60.0
    name: str = "exchange_rates"

    async def run(self, engine: AsyncEngine) -> int:
        try:
            published = await self.provider.fetch()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
            logger.warning("exchange rates unavailable: %s", type(error).__name__)
            return 0
        if published is None:
            return 0
        return await self.rates.store(engine, published.source, cross_quotes(published))
