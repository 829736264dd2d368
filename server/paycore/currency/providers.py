"""Where rates come from: provider adapters behind one interface (docs/currencies.md, "Rates").

    SimulatorRates   GET {PAYCORE_PSP_URL}/v1/fx/rates of the PSP simulator (or any provider
                     answering the same JSON): {"source", "base", "as_of" (unix seconds),
                     "rates": {"eur": "0.921034", ...}}, rates that move during the day
    EcbFileRates     a daily reference-rates file in the European Central Bank's CSV format
                     (eurofxref.csv: "Date, USD, JPY, ...", then one line per day,
                     "05 December 2026, 1.0540, 158.31, ..."; eurofxref-hist.csv has
                     YYYY-MM-DD dates): EUR is the base; "N/A" cells are skipped

A provider publishes rates against one base; `cross_quotes` turns them into every ordered pair
of the currencies listed (a cross rate b -> c = rate(c) / rate(b), rounded half even to
CROSS_DIGITS significant digits: the stored rate is then exact and is what conversions use).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import aiohttp
from paycore.currency.models import Quote
from paycore.iso import CURRENCY_EXPONENTS

CROSS_DIGITS = 12
_CROSS = Context(prec=CROSS_DIGITS)


@dataclass(frozen=True)
class Published:
    """One publication: units of each currency for one unit of `base`."""

    source: str
    base: str
    valid_from: int
    rates: dict[str, Decimal]


class RatesProvider(Protocol):
    async def fetch(self) -> Published | None:
        """The provider's current publication; None when it has none to give now."""


def cross_quotes(published: Published) -> list[Quote]:
    rates = {published.base: Decimal(1), **published.rates}
    quotes = []
    for base, base_rate in rates.items():
        for quote, quote_rate in rates.items():
            if base == quote:
                continue
            rate = quote_rate if base == published.base else _CROSS.divide(quote_rate, base_rate)
            quotes.append(Quote(base, quote, rate, published.valid_from))
    return quotes


class SimulatorRates:
    def __init__(self, url: str, timeout_seconds: float = 2.0) -> None:
        self._url = url.rstrip("/") + "/v1/fx/rates"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def fetch(self) -> Published | None:
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.get(self._url) as response,
        ):
            if response.status != 200:
                return None
            body = await response.json()
        return Published(
            source=str(body.get("source", "simulator")),
            base=str(body["base"]).lower(),
            valid_from=int(body["as_of"]),
            rates=_known({str(code).lower(): str(rate) for code, rate in body["rates"].items()}),
        )


@dataclass(frozen=True, slots=True)
class EcbFileRates:
    SOURCE = "ecb"

    _path: Path

    async def fetch(self) -> Published | None:
        return await asyncio.to_thread(self._newest)

    def _newest(self) -> Published | None:
        if not self._path.exists():
            return None
        found = parse_ecb_csv(self._path.read_text(encoding="utf-8"))
        return found[-1] if found else None


def parse_ecb_csv(text: str) -> list[Published]:
    """Every day of an ECB reference-rates CSV, oldest first (valid from midnight UTC of its
    date)."""
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text)) if row]
    if not rows or rows[0][0].lower() != "date":
        return []
    header = [cell.lower() for cell in rows[0]]
    days = []
    for row in rows[1:]:
        day = _ecb_day(row[0])
        if day is None:
            continue
        cells = dict(zip(header[1:], row[1:], strict=False))
        rates = _known(cells)
        if rates:
            days.append(Published(EcbFileRates.SOURCE, "eur", day, rates))
    return sorted(days, key=lambda published: published.valid_from)


def _ecb_day(cell: str) -> int | None:
    for layout in ("%d %B %Y", "%Y-%m-%d"):
        try:
            day = dt.datetime.strptime(cell, layout).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return int(day.timestamp())
    return None


def _known(cells: dict[str, str]) -> dict[str, Decimal]:
    """The cells that are a known currency with a positive decimal rate."""
    rates = {}
    for code, cell in cells.items():
        if code not in CURRENCY_EXPONENTS:
            continue
        try:
            rate = Decimal(cell)
        except InvalidOperation:
            continue
        if rate.is_finite() and rate > 0:
            rates[code] = rate
    return rates
