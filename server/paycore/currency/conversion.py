"""Conversion arithmetic, exact (docs/currencies.md, "Rounding").

A rate is an exact decimal: units of the quote currency for one unit of the base currency
(major units, as published). Converting `amount` minor units of `source` into `target` has the
exact value amount x rate x 10^(exponent(target) - exponent(source)), a rational number of
target minor units. The ledger books whole minor units, so the exact value is rounded in the
platform's favour by less than one minor unit: down when the platform pays (a capture credits
the merchant), up when it is paid (a refund debits the merchant). The remainder of each
conversion (>= 0, < 1) is never lost: paycore.currency.settlement carries it exactly and books
every whole unit it adds up to on the fx_rounding account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from paycore.currency.rules import exponent_of

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Converted:
    amount: int
    """Whole minor units of the target currency."""
    remainder: Fraction
    """What rounding kept for the platform: |exact value - amount|, 0 <= remainder < 1; for a
    part undoing money that crossed to a seller (paycore.currency.crossing.part_of), in
    (-1, 1), negative when it gives back what earlier rounding kept."""


def exact_value(amount: int, rate: Decimal, source: str, target: str) -> Fraction:
    shift = exponent_of(target) - exponent_of(source)
    return Fraction(amount) * Fraction(rate) * Fraction(10) ** shift


def convert_down(amount: int, rate: Decimal, source: str, target: str) -> Converted:
    """What the platform pays for `amount`: the exact value rounded down."""
    exact = exact_value(amount, rate, source, target)
    whole = math.floor(exact)
    return Converted(whole, exact - whole)


def convert_up(amount: int, rate: Decimal, source: str, target: str) -> Converted:
    """What the platform is paid for `amount`: the exact value rounded up."""
    exact = exact_value(amount, rate, source, target)
    whole = math.ceil(exact)
    return Converted(whole, whole - exact)


def convert_half_up(amount: int, rate: Decimal, source: str, target: str) -> int:
    """A shown value (a fee, an application fee): nearest, halves up. Only ever a
    split of amounts already booked, so it leaves no remainder."""
    exact = exact_value(amount, rate, source, target)
    return math.floor(exact + Fraction(1, 2))


def basis_points_of(amount: int, basis_points: int) -> int:
    """`basis_points` of `amount`, rounded half up (as fee plans round)."""
    return (amount * basis_points * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)


def part_of_booked(
    part: int,
    left: int,
    rate: Decimal,
    source: str,
    target: str,
    *,
    half_up: bool = False,
    cap: int | None = None,
) -> int:
    """What `part` (minor units of `source`) of an amount booked in `target` at `rate` moves
    back, when `left` of it (`source`) has not moved back yet: the difference it makes to the
    value of what is left, rounded as the amount was booked (down, as a capture's gross;
    `half_up`, as a fee kept; never past `cap`, as a fee kept never passes the gross). So the
    parts of an amount moving back in full, in one part or many, add up to exactly what was
    booked, each its own value rounded one way or the other (docs/currencies.md, "Refunds and
    partial refunds"); no remainder: they split what was booked."""
    rounded = convert_half_up if half_up else _floor

    def booked(amount: int) -> int:
        value = rounded(amount, rate, source, target)
        return value if cap is None else min(cap, value)

    return booked(left) - booked(left - part)


def _floor(amount: int, rate: Decimal, source: str, target: str) -> int:
    return convert_down(amount, rate, source, target).amount
