"""Rates (issue 19): the rates job stores the provider's rates on every shard, once; the
simulator's rates move during the day; an ECB reference-rates file imports; GetExchangeRate and
ListExchangeRates show the newest rate with its age."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from grpc import aio
from paycore.config import load_settings
from paycore.currency.job import ExchangeRatesJob
from paycore.currency.providers import Published, SimulatorRates, cross_quotes, parse_ecb_csv
from paycore.tools.psp.fx import rates_at
from paycore.v1 import currency_pb2
from paycore.worker.metrics import WorkerMetrics
from paycore.worker.runner import Worker
from prometheus_client import CollectorRegistry

from tests.currency.support import import_ecb, rate, simulator_rates
from tests.helpers import rich_error
from tests.payout.support import World

ECB = """Date, USD, JPY, BGN, CZK, ISK, KWD, XYZ,
05 December 2026, 1.0540, 158.31, 1.9558, N/A, 145.90, 0.3250, 7,
"""
ECB_HISTORY = """Date,USD,JPY,
2026-12-04,1.0500,157.00,
2026-12-03,1.0400,156.00,
"""


def test_the_ecb_format_parses_and_crosses_exactly() -> None:
    (day,) = parse_ecb_csv(ECB)
    assert (day.source, day.base, day.valid_from) == ("ecb", "eur", 1_796_428_800)
    # N/A and codes that are not ISO 4217 currencies are skipped.
    assert day.rates == {
        "usd": Decimal("1.0540"),
        "jpy": Decimal("158.31"),
        "bgn": Decimal("1.9558"),
        "isk": Decimal("145.90"),
        "kwd": Decimal("0.3250"),
    }
    history = parse_ecb_csv(ECB_HISTORY)
    assert [published.valid_from for published in history] == [1_796_256_000, 1_796_342_400]
    assert [published.rates["jpy"] for published in history] == [
        Decimal("156.00"),
        Decimal("157.00"),
    ]
    quotes = {(q.base, q.quote): q.rate for q in cross_quotes(day)}
    assert len(quotes) == 6 * 5
    assert quotes["eur", "usd"] == Decimal("1.0540")  # as published
    assert quotes["usd", "jpy"] == Decimal("150.199240987")  # 158.31 / 1.054, 12 digits
    assert quotes["jpy", "usd"] == Decimal("0.00665782325816")  # 0.006657823258164...: half even


def test_simulated_rates_move_during_the_day_and_hold_within_a_minute() -> None:
    morning, evening = rates_at(1_796_457_600 + 6 * 3600), rates_at(1_796_457_600 + 18 * 3600)
    assert morning["rates"]["jpy"] != evening["rates"]["jpy"]
    assert rates_at(1_796_457_600 + 6 * 3600 + 59) == morning
    same_day = Published("simulator", "usd", 0, {"eur": Decimal(morning["rates"]["eur"])})
    assert {(q.base, q.quote) for q in cross_quotes(same_day)} == {("usd", "eur"), ("eur", "usd")}


async def test_the_rates_job_stores_each_rate_once_on_every_shard(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    stored = await simulator_rates(world)
    pairs = len(rates_at(world.clock())["rates"]) + 1
    assert stored == pairs * (pairs - 1) * len(world.platform.shards.engines)
    assert await simulator_rates(world) == 0  # nothing new within the minute
    shop = await world.shop()
    first = await rate(shop, "usd", "jpy")
    expected = rates_at(world.clock())["rates"]["jpy"]
    assert (first.rate, first.source, first.stale) == (expected, "simulator", False)
    world.clock.advance(3 * 3600)
    assert await simulator_rates(world) > 0
    moved = await rate(shop, "usd", "jpy")
    assert moved.rate != first.rate and moved.valid_from == first.valid_from + 3 * 3600
    listed = await shop.client.currencies.ListExchangeRates(
        currency_pb2.ListExchangeRatesRequest(base="usd", limit=100)
    )
    assert {found.quote for found in listed.data} == set(rates_at(world.clock())["rates"])
    assert next(found for found in listed.data if found.quote == "jpy").rate == moved.rate
    assert not listed.has_more
    # Paged by pair id, in order.
    first_page = await shop.client.currencies.ListExchangeRates(
        currency_pb2.ListExchangeRatesRequest(base="usd", limit=5)
    )
    second_page = await shop.client.currencies.ListExchangeRates(
        currency_pb2.ListExchangeRatesRequest(
            base="usd", limit=100, starting_after=first_page.data[-1].pair
        )
    )
    assert first_page.has_more and first_page.data[0].pair == "usd_aud"
    assert [found.pair for found in (*first_page.data, *second_page.data)] == [
        found.pair for found in listed.data
    ]
    # ending_before: the pairs just before it, still in pair order.
    before = await shop.client.currencies.ListExchangeRates(
        currency_pb2.ListExchangeRatesRequest(
            base="usd", limit=2, ending_before=second_page.data[0].pair
        )
    )
    assert [found.pair for found in before.data] == [found.pair for found in first_page.data[-2:]]
    assert before.has_more
    # The ECB import adds its own source; the newest rate of a pair wins (the file's day is
    # older than the simulator's minute).
    await import_ecb(world, tmp_path / "eurofxref.csv", ECB)
    assert (await rate(shop, "eur", "bgn")).rate == "1.9558"
    assert (await rate(shop, "eur", "isk")).source == "simulator"
    identity = await rate(shop, "usd", "usd")
    assert (identity.rate, identity.source) == ("1", "identity")
    # Always valid, never stale: age 0 (it was measured from the epoch, about 1.8e9 seconds).
    assert (identity.age_seconds, identity.stale, identity.valid_from) == (0, False, 0)


async def test_a_pair_without_a_rate_is_not_found(fx_world: World) -> None:
    world = fx_world
    shop = await world.shop()
    with pytest.raises(aio.AioRpcError) as raised:
        await rate(shop, "usd", "bhd")
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_MISSING",
        "quote",
    )


async def test_a_starting_worker_fetches_rates_at_once_not_an_interval_later(
    fx_world: World,
) -> None:
    """A platform just started converts at once: its worker's first exchange_rates run is
    within the start spread, however long the job's interval (it came up to an interval,
    a minute by default, later; every conversion meanwhile was CURRENCY_PAIR_UNSUPPORTED)."""
    world = fx_world
    shop = await world.shop()
    job = ExchangeRatesJob(
        SimulatorRates(world.psp.url), world.platform.currencies.rates, interval_seconds=86_400
    )
    worker = Worker([job], world.platform.shards.engines, WorkerMetrics(CollectorRegistry()))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, grace_seconds=5))
    try:
        found = None
        for _ in range(300):  # up to about 30 s on a busy machine; a day's interval on main
            with contextlib.suppress(aio.AioRpcError):
                found = await rate(shop, "jpy", "usd")
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
    assert found is not None and found.source == "simulator"


def test_the_stale_age_by_default_fits_the_provider() -> None:
    """The ECB publishes on business days only (none on weekends, four days closed at Easter),
    so a day's age made its newest rates stale every weekend and each morning before the
    afternoon's publication: with `ecb_file` the default age spans the longest gap. A set
    PAYCORE_FX_RATE_MAX_AGE_SECONDS wins."""
    day = 86_400
    ages = {
        provider: load_settings({"PAYCORE_FX_RATES_PROVIDER": provider}).fx_rate_max_age_seconds
        for provider in ("simulator", "ecb_file", "none")
    }
    assert ages == {"simulator": day, "ecb_file": 6 * day, "none": day}
    set_age = {"PAYCORE_FX_RATES_PROVIDER": "ecb_file", "PAYCORE_FX_RATE_MAX_AGE_SECONDS": "3600"}
    assert load_settings(set_age).fx_rate_max_age_seconds == 3600
