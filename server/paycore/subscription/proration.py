"""Proration: what a change in the middle of a billing period is worth. Pure functions.

When an item's price or quantity changes at instant `at` of the period [start, end), the
customer is credited for the time left at the old terms and charged for the time left at the
new terms, each in proportion to the seconds remaining (as Stripe prorates, to the second):

    credit = -round_half_up(old_amount * (end - at) / (end - start))
    charge =  round_half_up(new_amount * (end - at) / (end - start))

where an amount is unit_amount * quantity in minor units of the price's currency.

The one rounding rule: the exact rational value (integer arithmetic, never floats) is rounded
to the nearest chargeable unit, and a value exactly halfway rounds up, away from zero. The
credit is rounded as a positive amount, then negated, so a credit and a charge computed for the
same amount at the same instant are exact opposites: a change that changes nothing nets zero.
The chargeable unit is the currency's minor unit (a cent for usd, a yen for jpy), or the
multiple the processors take it in (paycore.currency.rules: 10 fils for kwd and bhd, 100 for
isk), given by the caller: so a proration line is an amount a charge can take, as a price's is.
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.subscription.models import Period


@dataclass(frozen=True)
class Proration:
    """The lines a mid-period change adds, in minor units."""

    credit: int
    """Zero or negative: the unused time at the old terms, given back."""
    charge: int
    """Zero or positive: the time left at the new terms."""

    @property
    def net(self) -> int:
        return self.credit + self.charge


def item_amount(unit_amount: int, quantity: int) -> int:
    """What an item bills for a whole period, in minor units."""
    if unit_amount < 0 or quantity < 0:
        raise ValueError("unit_amount and quantity are 0 or more")
    return unit_amount * quantity


def remaining_share(amount: int, period: Period, at: int, unit: int = 1) -> int:
    """The part of `amount` (for the whole period) that falls on [at, period.end), rounded half
    up to a multiple of `unit` (minor units)."""
    if amount < 0:
        raise ValueError(f"amount is 0 or more, not {amount}")
    length = period.end - period.start
    if length <= 0:
        raise ValueError(f"the period [{period.start}, {period.end}) is empty")
    if not period.start <= at <= period.end:
        raise ValueError(f"{at} is outside the period [{period.start}, {period.end}]")
    if unit <= 0:
        raise ValueError(f"unit is 1 or more, not {unit}")
    return unit * round_half_up(amount * (period.end - at), length * unit)


def prorate(period: Period, at: int, old_amount: int, new_amount: int, unit: int = 1) -> Proration:
    """The credit for `old_amount`'s unused time and the charge for `new_amount` over the time
    left, when an item billing `old_amount` per period changes to `new_amount` at `at`; each
    rounded to a multiple of `unit`."""
    return Proration(
        credit=-remaining_share(old_amount, period, at, unit),
        charge=remaining_share(new_amount, period, at, unit),
    )


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (both 0 or more, denominator positive) to the nearest integer,
    halves up."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a numerator >= 0 and a denominator > 0")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)
