"""Billing periods: where a subscription's periods begin and end. Pure functions, no I/O.

A subscription's periods are aligned to its billing cycle anchor (unix seconds, UTC). The n-th
boundary is the anchor moved forward by n * interval_count intervals, always computed from the
anchor itself, never from the previous boundary, so a month-end anchor comes back to the month
end as Stripe documents: an anchor on Jan 31 gives Feb 28 (Feb 29 in a leap year), Mar 31,
Apr 30, May 31, ...; a yearly anchor on Feb 29 gives Feb 28 in common years and Feb 29 again in
leap years. Months and years keep the anchor's time of day; days and weeks are exact multiples
of 86,400 s (UTC has no daylight saving).

    boundary(anchor, recurring, n)       the n-th boundary (n = 0 is the anchor)
    next_boundary(anchor, recurring, t)  the first boundary strictly after t
    period_at(anchor, recurring, t)      the period [start, end) holding t (t >= anchor)

Times past the year 9999 cannot be represented and raise ValueError or OverflowError.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from paycore.subscription.models import Interval, Period, Recurring

SECONDS_PER_DAY = 86_400
_SECONDS_PER_INTERVAL = {Interval.DAY: SECONDS_PER_DAY, Interval.WEEK: 7 * SECONDS_PER_DAY}
_MONTHS_PER_INTERVAL = {Interval.MONTH: 1, Interval.YEAR: 12}


def boundary(anchor: int, recurring: Recurring, index: int) -> int:
    """The `index`-th period boundary after `anchor` (index 0 is the anchor itself)."""
    _check(recurring)
    if index < 0:
        raise ValueError(f"a boundary index is 0 or more, not {index}")
    seconds = _SECONDS_PER_INTERVAL.get(recurring.interval)
    if seconds is not None:
        return anchor + index * recurring.interval_count * seconds
    months = index * recurring.interval_count * _MONTHS_PER_INTERVAL[recurring.interval]
    return _add_months(anchor, months)


def next_boundary(anchor: int, recurring: Recurring, after: int) -> int:
    """The first boundary strictly later than `after` (the anchor when `after` precedes it)."""
    return boundary(anchor, recurring, _index_after(anchor, recurring, after))


def period_at(anchor: int, recurring: Recurring, instant: int) -> Period:
    """The period holding `instant`: start <= instant < end. `instant` must not precede the
    anchor (before it, no period of this cycle has begun)."""
    if instant < anchor:
        raise ValueError(f"{instant} precedes the billing cycle anchor {anchor}")
    index = _index_after(anchor, recurring, instant)
    return Period(boundary(anchor, recurring, index - 1), boundary(anchor, recurring, index))


def _index_after(anchor: int, recurring: Recurring, after: int) -> int:
    """The index of the first boundary strictly later than `after`."""
    _check(recurring)
    if after < anchor:
        return 0
    seconds = _SECONDS_PER_INTERVAL.get(recurring.interval)
    if seconds is not None:
        return (after - anchor) // (recurring.interval_count * seconds) + 1
    step = recurring.interval_count * _MONTHS_PER_INTERVAL[recurring.interval]
    start, end = _utc(anchor), _utc(after)
    months_between = (end.year - start.year) * 12 + end.month - start.month
    # The boundary `index` lies in the month of `after` or earlier; if it is not later than
    # `after`, the next one lies in a later month than `after`'s: one step is enough.
    index = max(months_between // step, 0)
    if boundary(anchor, recurring, index) <= after:
        index += 1
    return index


def _add_months(instant: int, months: int) -> int:
    moment = _utc(instant)
    year, month_index = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return int(moment.replace(year=year, month=month_index + 1, day=day).timestamp())


def _utc(instant: int) -> datetime:
    return datetime.fromtimestamp(instant, UTC)


def _check(recurring: Recurring) -> None:
    if recurring.interval_count < 1:
        raise ValueError(f"interval_count is 1 or more, not {recurring.interval_count}")
