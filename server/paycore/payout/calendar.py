"""Days of the pay-out flow, in UTC: when funds become available, when a payout arrives (bank
business days: Monday to Friday), and when a payout schedule runs next. The bank simulator
uses the same rules (paycore.tools.psp.bank), so estimates and arrivals agree."""

from __future__ import annotations

import calendar
import datetime as dt

from paycore.payout.models import DAY_SECONDS, Interval, PayoutMethod

STANDARD_BUSINESS_DAYS = 2
"""A standard payout arrives this many bank business days after the day it is sent."""
SATURDAY = 5


def day_of(unix_seconds: float) -> dt.date:
    return dt.datetime.fromtimestamp(unix_seconds, dt.UTC).date()


def start_of(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def available_on(created: int, delay_days: int) -> int:
    """Midnight UTC `delay_days` after the day of `created`: a day's funds settle together."""
    return start_of(day_of(created)) + delay_days * DAY_SECONDS


def business_days_after(day: dt.date, count: int) -> dt.date:
    """The `count`-th Monday-to-Friday after `day`."""
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < SATURDAY:
            count -= 1
    return day


def arrival_date(sent: int, method: PayoutMethod) -> int:
    """When a payout sent at `sent` reaches the account: at once if instant, else the start of
    the second business day after the day it was sent."""
    if method is PayoutMethod.INSTANT:
        return sent
    return start_of(business_days_after(day_of(sent), STANDARD_BUSINESS_DAYS))


def month_day(year: int, month: int, anchor: int) -> dt.date:
    """`anchor` (1..31) in that month; 29-31 fall back to the month's last day."""
    return dt.date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def first_run_on(
    interval: Interval, weekly_anchor: int, monthly_anchor: int, today: dt.date
) -> dt.date | None:
    """The first day on or after `today` a schedule runs; None for manual."""
    if interval is Interval.MANUAL:
        return None
    if interval is Interval.DAILY:
        return today
    if interval is Interval.WEEKLY:
        return today + dt.timedelta(days=(weekly_anchor - 1 - today.weekday()) % 7)
    this_month = month_day(today.year, today.month, monthly_anchor)
    if this_month >= today:
        return this_month
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return month_day(year, month, monthly_anchor)


def next_run_after(
    interval: Interval, weekly_anchor: int, monthly_anchor: int, today: dt.date
) -> dt.date | None:
    """The first run strictly after `today` (after a run, or a catch-up of missed ones)."""
    return first_run_on(interval, weekly_anchor, monthly_anchor, today + dt.timedelta(days=1))
