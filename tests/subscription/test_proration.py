"""Proration to the minor unit, one rounding rule (half up on exact fractions), on usd (2
decimals), jpy (0) and kwd (3), and to a unit of several minor units (kwd charged in tens)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paycore.subscription.models import Interval, Period, Recurring
from paycore.subscription.periods import period_at
from paycore.subscription.proration import (
    Proration,
    item_amount,
    prorate,
    remaining_share,
    round_half_up,
)

DAY = 86_400
APRIL = Period(
    int(datetime(2025, 4, 1, tzinfo=UTC).timestamp()),
    int(datetime(2025, 5, 1, tzinfo=UTC).timestamp()),
)  # 30 days


def test_an_upgrade_a_third_into_a_usd_month() -> None:
    # $10.00 -> $25.00 after 10 of 30 days: 2/3 of each is left.
    proration = prorate(APRIL, APRIL.start + 10 * DAY, old_amount=1000, new_amount=2500)
    assert proration == Proration(credit=-667, charge=1667)  # 666.67 -> 667, 1666.67 -> 1667
    assert proration.net == 1000


def test_jpy_prorates_to_the_yen() -> None:
    # ¥980 -> ¥1,980 with 7 of 30 days left: 228.67 -> 229 and 462 exactly.
    proration = prorate(APRIL, APRIL.end - 7 * DAY, old_amount=980, new_amount=1980)
    assert proration == Proration(credit=-229, charge=462)


def test_kwd_prorates_to_the_fils() -> None:
    # 3.500 KWD x 2 seats -> 3 seats, half the month left: 3.500 credited, 5.250 charged.
    half = APRIL.start + 15 * DAY
    proration = prorate(APRIL, half, item_amount(3500, 2), item_amount(3500, 3))
    assert proration == Proration(credit=-3500, charge=5250)
    # 1.001 KWD with one third left: 333.67 fils -> 334.
    assert remaining_share(1001, APRIL, APRIL.start + 20 * DAY) == 334


def test_a_unit_rounds_to_what_the_currency_charges() -> None:
    # 1.010 KWD with one third left: 336.67 fils, charged in tens of fils (paycore.currency.
    # rules): 340; a half (of ten) goes up, as for the fils.
    assert remaining_share(1010, APRIL, APRIL.start + 20 * DAY, unit=10) == 340
    assert remaining_share(10, Period(100, 102), 101, unit=10) == 10
    assert prorate(APRIL, APRIL.start + 20 * DAY, 1010, 2020, unit=10) == Proration(
        credit=-340, charge=670
    )


def test_exact_halves_round_up() -> None:
    assert round_half_up(1, 2) == 1
    assert round_half_up(5, 2) == 3
    assert round_half_up(3, 4) == 1
    assert round_half_up(1, 4) == 0
    # 1 yen (or cent, or fils) over half of a two-second period: 0.5 -> 1, credit and charge.
    two_seconds = Period(100, 102)
    assert prorate(two_seconds, 101, 1, 1) == Proration(credit=-1, charge=1)


def test_at_the_period_edges_everything_or_nothing_is_left() -> None:
    assert prorate(APRIL, APRIL.start, 1234, 999) == Proration(credit=-1234, charge=999)
    assert prorate(APRIL, APRIL.end, 1234, 999) == Proration(credit=0, charge=0)


def test_out_of_period_instants_and_negative_amounts_are_programmer_errors() -> None:
    with pytest.raises(ValueError):
        prorate(APRIL, APRIL.end + 1, 100, 100)
    with pytest.raises(ValueError):
        prorate(APRIL, APRIL.start - 1, 100, 100)
    with pytest.raises(ValueError):
        remaining_share(-1, APRIL, APRIL.start)
    with pytest.raises(ValueError):
        remaining_share(1, Period(5, 5), 5)
    with pytest.raises(ValueError):
        item_amount(100, -1)


# Amounts up to usd's 99,999,999 cents times a quantity of up to 10,000.
AMOUNTS = st.integers(0, 999_999_999_999)
PERIODS = st.builds(
    lambda start, length: Period(start, start + length),
    st.integers(0, 4_000_000_000),
    st.integers(1, 366 * DAY),
)


@settings(max_examples=500, deadline=None)
@given(period=PERIODS, amount=AMOUNTS, where=st.fractions(0, 1))
def test_credit_and_charge_for_the_same_terms_cancel(
    period: Period, amount: int, where: Fraction
) -> None:
    instant = period.start + int((period.end - period.start) * where)
    proration = prorate(period, instant, amount, amount)
    assert proration.credit == -proration.charge
    assert proration.net == 0


@settings(max_examples=500, deadline=None)
@given(period=PERIODS, amount=AMOUNTS, where=st.fractions(0, 1))
def test_the_share_is_the_exact_fraction_rounded_half_up(
    period: Period, amount: int, where: Fraction
) -> None:
    instant = period.start + int((period.end - period.start) * where)
    exact = Fraction(amount * (period.end - instant), period.end - period.start)
    share = remaining_share(amount, period, instant)
    assert abs(share - exact) <= Fraction(1, 2)
    assert share - exact != Fraction(-1, 2)  # a half always goes up
    assert 0 <= share <= amount


@settings(max_examples=200, deadline=None)
@given(
    old=st.integers(0, 10_000_000),
    new=st.integers(0, 10_000_000),
    day=st.integers(0, 30),
    anchor_day=st.integers(1, 31),
)
def test_on_monthly_periods_the_net_is_within_one_unit_of_the_exact_difference(
    old: int, new: int, day: int, anchor_day: int
) -> None:
    anchor = int(datetime(2025, 1, anchor_day, tzinfo=UTC).timestamp())
    period = period_at(anchor, Recurring(Interval.MONTH, 1), anchor + 40 * DAY)
    instant = min(period.start + day * DAY, period.end)
    proration = prorate(period, instant, old, new)
    exact = Fraction((new - old) * (period.end - instant), period.end - period.start)
    assert abs(proration.net - exact) <= 1


@settings(max_examples=300, deadline=None)
@given(
    period=PERIODS,
    amount=AMOUNTS,
    where=st.fractions(0, 1),
    unit=st.sampled_from([1, 10, 100]),
)
def test_a_share_in_units_is_the_exact_fraction_rounded_half_up_to_a_unit(
    period: Period, amount: int, where: Fraction, unit: int
) -> None:
    instant = period.start + int((period.end - period.start) * where)
    exact = Fraction(amount * (period.end - instant), period.end - period.start)
    share = remaining_share(amount, period, instant, unit)
    assert share % unit == 0
    assert abs(share - exact) <= Fraction(unit, 2)
    assert share - exact != Fraction(-unit, 2)  # a half always goes up
