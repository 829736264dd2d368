"""Subscription domain objects: what the service and repositories exchange (never proto
messages). Times are unix seconds (UTC); amounts are integer minor units of `currency`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Interval(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# Stripe's limit: a recurring price bills at least once a year (365 days, 52 weeks, 12 months).
INTERVAL_COUNT_MAX: dict[Interval, int] = {
    Interval.DAY: 365,
    Interval.WEEK: 52,
    Interval.MONTH: 12,
    Interval.YEAR: 1,
}


@dataclass(frozen=True)
class Recurring:
    """Bills every `interval_count` intervals (1..INTERVAL_COUNT_MAX[interval])."""

    interval: Interval
    interval_count: int


@dataclass(frozen=True)
class Period:
    """[start, end) in unix seconds."""

    start: int
    end: int


@dataclass(frozen=True)
class NewProduct:
    name: str
    description: str
    active: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class Product:
    id: str
    merchant_id: str
    name: str
    description: str
    active: bool
    metadata: dict[str, str]
    created: int


@dataclass(frozen=True)
class NewPrice:
    product_id: str
    unit_amount: int
    currency: str
    # None for a one-time price.
    recurring: Recurring | None
    nickname: str
    active: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class Price:
    id: str
    merchant_id: str
    product_id: str
    unit_amount: int
    currency: str
    recurring: Recurring | None
    nickname: str
    active: bool
    metadata: dict[str, str]
    created: int


class TestClockStatus(Enum):
    __test__ = False  # not a pytest test class, despite its name

    READY = "ready"
    ADVANCING = "advancing"
    INTERNAL_FAILURE = "internal_failure"


@dataclass(frozen=True)
class NewTestClock:
    __test__ = False  # not a pytest test class, despite its name
    frozen_time: int
    name: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class TestClock:
    __test__ = False  # not a pytest test class, despite its name
    id: str
    merchant_id: str
    name: str
    frozen_time: int
    status: TestClockStatus
    metadata: dict[str, str]
    created: int
