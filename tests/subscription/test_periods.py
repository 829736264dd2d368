"""Billing periods from an anchor: month ends as Stripe documents, contiguous and increasing."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paycore.subscription.models import INTERVAL_COUNT_MAX, Interval, Period, Recurring
from paycore.subscription.periods import boundary, next_boundary, period_at

MONTHLY = Recurring(Interval.MONTH, 1)
YEARLY = Recurring(Interval.YEAR, 1)
# Anchors from 1970 to 2200: boundaries stay far from datetime's year 9999.
ANCHORS = st.integers(min_value=0, max_value=int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()))
RECURRINGS = st.sampled_from(list(Interval)).flatmap(
    lambda interval: st.builds(
        Recurring, st.just(interval), st.integers(1, INTERVAL_COUNT_MAX[interval])
    )
)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def utc(instant: int) -> datetime:
    return datetime.fromtimestamp(instant, UTC)


def test_a_jan_31_anchor_comes_back_to_each_month_end() -> None:
    anchor = at(2025, 1, 31, 9, 30)
    months = [utc(boundary(anchor, MONTHLY, index)) for index in range(1, 7)]
    assert [(moment.month, moment.day) for moment in months] == [
        (2, 28),
        (3, 31),
        (4, 30),
        (5, 31),
        (6, 30),
        (7, 31),
    ]
    assert {(moment.hour, moment.minute) for moment in months} == {(9, 30)}
    leap = utc(boundary(at(2024, 1, 31), MONTHLY, 1))
    assert (leap.month, leap.day) == (2, 29)
    assert utc(boundary(at(2024, 1, 31), MONTHLY, 2)).day == 31


def test_a_feb_29_yearly_anchor_is_feb_28_in_common_years_and_29_in_leap_years() -> None:
    anchor = at(2024, 2, 29, 12)
    days = [utc(boundary(anchor, YEARLY, index)) for index in range(0, 9)]
    assert [(moment.year, moment.day) for moment in days] == [
        (2024, 29),
        (2025, 28),
        (2026, 28),
        (2027, 28),
        (2028, 29),
        (2029, 28),
        (2030, 28),
        (2031, 28),
        (2032, 29),
    ]
    assert {moment.month for moment in days} == {2}


def test_days_and_weeks_are_exact_multiples_of_a_day() -> None:
    anchor = at(2025, 3, 1)
    assert boundary(anchor, Recurring(Interval.DAY, 3), 2) == anchor + 6 * 86_400
    assert boundary(anchor, Recurring(Interval.WEEK, 2), 3) == anchor + 42 * 86_400


def test_next_boundary_and_period_at_around_the_anchor() -> None:
    anchor = at(2025, 1, 31)
    assert next_boundary(anchor, MONTHLY, anchor - 1) == anchor
    assert next_boundary(anchor, MONTHLY, anchor) == at(2025, 2, 28)
    assert period_at(anchor, MONTHLY, anchor) == Period(anchor, at(2025, 2, 28))
    assert period_at(anchor, MONTHLY, at(2025, 2, 28)) == Period(at(2025, 2, 28), at(2025, 3, 31))
    assert period_at(anchor, MONTHLY, at(2025, 3, 31) - 1).end == at(2025, 3, 31)
    with pytest.raises(ValueError):
        period_at(anchor, MONTHLY, anchor - 1)
    with pytest.raises(ValueError):
        boundary(anchor, Recurring(Interval.MONTH, 0), 1)


@settings(max_examples=300, deadline=None)
@given(anchor=ANCHORS, recurring=RECURRINGS, count=st.integers(2, 40))
def test_boundaries_strictly_increase_and_periods_are_contiguous(
    anchor: int, recurring: Recurring, count: int
) -> None:
    boundaries = [boundary(anchor, recurring, index) for index in range(count)]
    assert boundaries[0] == anchor
    assert all(earlier < later for earlier, later in pairwise(boundaries))
    for start, end in pairwise(boundaries):
        # Each period holds exactly the instants from its start up to (not including) its end.
        assert period_at(anchor, recurring, start) == Period(start, end)
        assert period_at(anchor, recurring, end - 1) == Period(start, end)
        assert next_boundary(anchor, recurring, start) == end


@settings(max_examples=300, deadline=None)
@given(anchor=ANCHORS, recurring=RECURRINGS, offset=st.integers(0, 40 * 366 * 86_400))
def test_period_at_agrees_with_walking_the_boundaries(
    anchor: int, recurring: Recurring, offset: int
) -> None:
    instant = anchor + offset
    index = 0
    while boundary(anchor, recurring, index + 1) <= instant:
        index += 1
    expected = Period(boundary(anchor, recurring, index), boundary(anchor, recurring, index + 1))
    assert period_at(anchor, recurring, instant) == expected
    assert next_boundary(anchor, recurring, instant) == expected.end


@settings(max_examples=300, deadline=None)
@given(anchor=ANCHORS, interval_count=st.integers(1, 12), indexes=st.integers(1, 60))
def test_every_monthly_boundary_falls_on_the_anchor_day_or_the_month_end(
    anchor: int, interval_count: int, indexes: int
) -> None:
    start = utc(anchor)
    recurring = Recurring(Interval.MONTH, interval_count)
    for index in range(indexes + 1):
        moment = utc(boundary(anchor, recurring, index))
        months = start.month - 1 + index * interval_count
        assert (moment.year, moment.month) == (start.year + months // 12, months % 12 + 1)
        days_in_month = calendar.monthrange(moment.year, moment.month)[1]
        assert moment.day == min(start.day, days_in_month)
        assert moment.time() == start.time()


@settings(max_examples=100, deadline=None)
@given(
    year=st.sampled_from([year for year in range(1972, 2196) if calendar.isleap(year)]),
    seconds=st.integers(0, 86_399),
    indexes=st.integers(1, 12),
)
def test_yearly_feb_29_anchors(year: int, seconds: int, indexes: int) -> None:
    anchor = at(year, 2, 29) + seconds
    for index in range(indexes + 1):
        moment = utc(boundary(anchor, YEARLY, index))
        assert (moment.year, moment.month) == (year + index, 2)
        assert moment.day == (29 if calendar.isleap(moment.year) else 28)
        assert moment.time() == utc(anchor).time()
