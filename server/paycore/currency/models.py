"""Currencies' types (frozen dataclasses; no protobuf, no rows). Rates are exact decimals;
times are unix seconds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Quote:
    """A rate as a provider publishes it: units of `quote` for one unit of `base`."""

    base: str
    quote: str
    rate: Decimal
    valid_from: int


@dataclass(frozen=True)
class ExchangeRate:
    base: str
    quote: str
    rate: Decimal
    source: str
    valid_from: int
    valid_to: int | None


@dataclass(frozen=True)
class RateView:
    """A rate as GetExchangeRate shows it: with its age against the configured maximum."""

    rate: ExchangeRate
    age_seconds: int
    stale: bool


@dataclass(frozen=True)
class Settlement:
    """The currencies a balance (the merchant's, account "", or a seller's) settles in, the
    default first; empty: every charge stays in its own currency."""

    account: str
    currencies: tuple[str, ...]

    def target_for(self, currency: str) -> str | None:
        """The currency a charge in `currency` settles in when it must be converted, else None."""
        if not self.currencies or currency in self.currencies:
            return None
        return self.currencies[0]


def rate_text(rate: Decimal) -> str:
    """An exact decimal as text without exponent or trailing zeros ("0.0067", "150")."""
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True)
class PairCursor:
    """Where a page of exchange rates (in pair order) starts: after the pair `starting_after`
    (("", "") from the first), or the `limit` pairs just before `ending_before` (never both)."""

    limit: int
    starting_after: tuple[str, str] = ("", "")
    ending_before: tuple[str, str] | None = None
