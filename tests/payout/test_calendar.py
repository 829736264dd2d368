"""Pay-out's days: funds available at midnight after the delay, arrival on bank business days,
and when schedules run (weekly anchors, monthly anchors 29-31 falling back to month end)."""

from __future__ import annotations

import datetime as dt

from paycore.payout.calendar import (
    arrival_date,
    available_on,
    business_days_after,
    first_run_on,
    next_run_after,
    start_of,
)
from paycore.payout.models import Interval, PayoutMethod

FRIDAY = dt.date(2026, 12, 11)


def test_funds_become_available_at_midnight_after_the_delay() -> None:
    created = start_of(FRIDAY) + 15 * 3600
    assert available_on(created, 2) == start_of(dt.date(2026, 12, 13))


def test_a_standard_payout_arrives_on_the_second_business_day() -> None:
    assert business_days_after(FRIDAY, 2) == dt.date(2026, 12, 15)  # over the weekend
    sent = start_of(FRIDAY) + 3600
    assert arrival_date(sent, PayoutMethod.STANDARD) == start_of(dt.date(2026, 12, 15))
    assert arrival_date(sent, PayoutMethod.INSTANT) == sent
    saturday = start_of(dt.date(2026, 12, 12)) + 10
    assert arrival_date(saturday, PayoutMethod.STANDARD) == start_of(dt.date(2026, 12, 15))


def test_schedules_run_on_their_anchors() -> None:
    assert first_run_on(Interval.MANUAL, 1, 1, FRIDAY) is None
    assert first_run_on(Interval.DAILY, 1, 1, FRIDAY) == FRIDAY
    assert first_run_on(Interval.WEEKLY, 5, 1, FRIDAY) == FRIDAY
    assert first_run_on(Interval.WEEKLY, 1, 1, FRIDAY) == dt.date(2026, 12, 14)
    assert next_run_after(Interval.WEEKLY, 5, 1, FRIDAY) == dt.date(2026, 12, 18)
    assert first_run_on(Interval.MONTHLY, 31, 31, dt.date(2027, 2, 1)) == dt.date(2027, 2, 28)
    assert first_run_on(Interval.MONTHLY, 1, 30, dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    assert next_run_after(Interval.MONTHLY, 1, 31, dt.date(2027, 2, 28)) == dt.date(2027, 3, 31)
    assert next_run_after(Interval.MONTHLY, 1, 15, dt.date(2026, 12, 15)) == dt.date(2027, 1, 15)
    assert next_run_after(Interval.DAILY, 1, 1, dt.date(2026, 12, 31)) == dt.date(2027, 1, 1)
