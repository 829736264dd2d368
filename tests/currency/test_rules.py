"""Currency rules as data and the conversion arithmetic (issue 19), without a server."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paycore.config import CURRENCY_RULES_PSPS
from paycore.currency.conversion import convert_down, convert_half_up, convert_up, exact_value
from paycore.currency.repository import decimal_of
from paycore.currency.rules import PSP_OVERRIDES, RULES, CurrencyRules, Purpose
from paycore.errors import ApiError
from paycore.iso import CURRENCY_EXPONENTS

CURRENCIES = ("usd", "eur", "jpy", "kwd", "isk", "bhd", "huf", "twd")
rates = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=12, allow_nan=False
)


def test_the_rules_follow_iso_4217_and_the_processors() -> None:
    assert set(RULES) == set(CURRENCY_EXPONENTS)
    # ISK keeps Stripe's two decimals (100 = 1 króna), in whole krónur.
    assert [RULES[code].exponent for code in ("jpy", "usd", "kwd", "isk")] == [0, 2, 3, 2]
    for code in ("bhd", "jod", "kwd", "omr", "tnd"):
        assert RULES[code].charge_multiple == 10  # the last of three decimals must be 0
    assert RULES["isk"].charge_multiple == 100
    assert (RULES["huf"].payout_multiple, RULES["twd"].payout_multiple) == (100, 100)
    assert (RULES["huf"].charge_multiple, RULES["usd"].minimum_charge) == (1, 50)
    assert set(PSP_OVERRIDES) == set(CURRENCY_RULES_PSPS)


def test_a_psp_override_changes_only_its_rule() -> None:
    strict, lenient = CurrencyRules("default"), CurrencyRules("full_precision")
    with pytest.raises(ApiError) as raised:
        strict.check("amount", 1_005, "kwd", Purpose.CHARGE)
    assert (raised.value.reason.name, raised.value.param) == ("AMOUNT_NOT_ALLOWED", "amount")
    assert lenient.check("amount", 1_005, "kwd", Purpose.CHARGE) == 1_005
    assert lenient.rule("kwd").minimum_charge == strict.rule("kwd").minimum_charge


@given(st.sampled_from(CURRENCIES), st.integers(min_value=1, max_value=10**9))
def test_an_amount_passes_exactly_when_it_fits_its_rule(currency: str, amount: int) -> None:
    rules = CurrencyRules()
    rule = rules.rule(currency)
    for purpose, multiple, least in (
        (Purpose.CHARGE, rule.charge_multiple, rule.minimum_charge),
        (Purpose.AMOUNT, rule.charge_multiple, 1),
        (Purpose.PAYOUT, rule.payout_multiple, 1),
    ):
        fits = amount % multiple == 0 and amount >= least
        try:
            assert rules.check("a", amount, currency, purpose) == amount and fits
        except ApiError as error:
            assert not fits and error.param == "a"


@given(
    st.sampled_from(CURRENCIES),
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from(sorted(PSP_OVERRIDES)),
)
def test_the_payable_part_is_the_largest_payout_the_rule_takes(
    currency: str, amount: int, psp: str
) -> None:
    """What an automatic payout pays of `amount` (paycore.payout.payouts)."""
    rules = CurrencyRules(psp)
    payable = rules.payable(amount, currency)
    assert 0 <= amount - payable < rules.rule(currency).payout_multiple
    assert rules.check("amount", payable, currency, Purpose.PAYOUT) == payable


def test_payouts_in_huf_twd_and_isk_are_hundreds_kwd_tens() -> None:
    rules, lenient = CurrencyRules(), CurrencyRules("full_precision")
    assert [rules.payable(12_399, code) for code in ("huf", "twd", "isk", "kwd", "usd")] == [
        12_300,
        12_300,
        12_300,
        12_390,
        12_399,
    ]
    # A processor that takes every minor unit still takes HUF and TWD payouts in hundreds,
    # and ISK in whole krónur (ISO 4217 gives it no minor unit).
    assert [lenient.payable(12_399, code) for code in ("huf", "twd", "isk", "kwd")] == [
        12_300,
        12_300,
        12_300,
        12_399,
    ]


@given(
    st.integers(min_value=0, max_value=10**12),
    rates,
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCIES),
)
def test_conversion_rounds_in_the_platforms_favour_and_keeps_the_remainder(
    amount: int, rate: Decimal, source: str, target: str
) -> None:
    exact = exact_value(amount, rate, source, target)
    down, up = convert_down(amount, rate, source, target), convert_up(amount, rate, source, target)
    assert down.amount + down.remainder == exact == up.amount - up.remainder
    assert 0 <= down.remainder < 1 and 0 <= up.remainder < 1
    assert down.amount == math.floor(exact) and up.amount == math.ceil(exact)
    assert abs(convert_half_up(amount, rate, source, target) - exact) <= Fraction(1, 2)
    # Every remainder has a finite decimal expansion: the carry stores it exactly.
    assert Fraction(decimal_of(down.remainder)) == down.remainder


def test_a_refused_multiple_says_what_the_amount_is_for() -> None:
    """A capture's, a refund's or a price's amount is a part of what is charged: the message
    reads as English ("for a amount" did not)."""
    rules = CurrencyRules()
    messages = {}
    for purpose, currency, amount in (
        (Purpose.CHARGE, "kwd", 1_005),
        (Purpose.AMOUNT, "kwd", 1_005),
        (Purpose.PAYOUT, "huf", 150),
    ):
        with pytest.raises(ApiError) as raised:
            rules.check("amount", amount, currency, purpose)
        messages[purpose] = str(raised.value)
    assert messages[Purpose.CHARGE].endswith("(minor units of kwd) for a charge")
    assert messages[Purpose.AMOUNT].endswith("(minor units of kwd) for a charged amount")
    assert messages[Purpose.PAYOUT].endswith("(minor units of huf) for a payout")
