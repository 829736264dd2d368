"""Currency rules as data (docs/currencies.md): what an amount in a currency must look like at
the processors, checked where amounts enter (payment intents, payment orders, captures,
refunds, payouts) before anything changes.

ISO 4217 gives each currency's exponent (paycore.iso: 0 for JPY, KRW, ..., 3 for BHD, IQD,
JOD, KWD, LYD, OMR, TND, else 2; and ISK 2, as Stripe's API keeps it). Processors add their
own: many take the three-decimal currencies only in whole hundredths (the last digit 0), ISK
only in whole krónur (multiples of 100 of its two decimals), HUF and TWD payouts only in
multiples of 100, and each currency has a least chargeable amount. `PSP_OVERRIDES` changes
any of these for one processor (`PAYCORE_CURRENCY_RULES_PSP` picks it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from paycore.errors import ApiError, Reason
from paycore.iso import CURRENCY_EXPONENTS


class Purpose(StrEnum):
    CHARGE = "charge"
    """A new charge: the multiple and the minimum."""
    AMOUNT = "charged amount"
    """A part of a charge (a capture, a refund, a price or an invoice item's amount): the
    multiple only. Its value ends the refusal's message ("... for a charged amount")."""
    PAYOUT = "payout"


@dataclass(frozen=True)
class CurrencyRule:
    exponent: int
    charge_multiple: int = 1
    """Charged (and captured, refunded) amounts are multiples of this, in minor units."""
    payout_multiple: int = 1
    minimum_charge: int = 1
    """The least amount of a new charge, minor units."""


# Processors' requirements on top of ISO 4217 (Stripe's published ones where it has them).
_THREE_DECIMAL_MULTIPLE = 10
_CHARGE_MULTIPLES = {
    **dict.fromkeys(("bhd", "jod", "kwd", "omr", "tnd"), _THREE_DECIMAL_MULTIPLE),
    "isk": 100,  # whole krónur: ISK keeps two decimals in amounts (paycore.iso)
}
_PAYOUT_MULTIPLES = {"huf": 100, "twd": 100, "isk": 100}
_MINIMUM_CHARGES = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "chf": 50,
    "cad": 50,
    "aud": 50,
    "nzd": 50,
    "sek": 300,
    "nok": 300,
    "dkk": 250,
    "pln": 200,
    "czk": 1500,
    "huf": 17500,
    "jpy": 50,
    "krw": 500,
    "isk": 10_000,  # 100 kr
    "bhd": 200,
    "jod": 400,
    "kwd": 200,
    "omr": 200,
    "tnd": 2000,
}

RULES: dict[str, CurrencyRule] = {
    code: CurrencyRule(
        exponent=exponent,
        charge_multiple=_CHARGE_MULTIPLES.get(code, 1),
        payout_multiple=_PAYOUT_MULTIPLES.get(code, _CHARGE_MULTIPLES.get(code, 1)),
        minimum_charge=_MINIMUM_CHARGES.get(code, 1),
    )
    for code, exponent in CURRENCY_EXPONENTS.items()
}

PSP_OVERRIDES: dict[str, dict[str, dict[str, int]]] = {
    "default": {},
    # A processor that takes every ISO 4217 minor unit (no last-digit rule for the
    # three-decimal currencies; ISK has none, so it stays in whole krónur).
    "full_precision": {
        **{
            code: {"charge_multiple": 1, "payout_multiple": 1}
            for code in _CHARGE_MULTIPLES
            if code != "isk"
        },
    },
}


@dataclass(frozen=True)
class CurrencyRules:
    """The rules in force: `RULES` with one processor's overrides applied."""

    psp: str = "default"

    def rule(self, currency: str) -> CurrencyRule:
        rule = RULES.get(currency, CurrencyRule(exponent=2))
        override = PSP_OVERRIDES.get(self.psp, {}).get(currency)
        return replace(rule, **override) if override else rule

    def check(self, param: str, amount: int, currency: str, purpose: Purpose) -> int:
        """`amount` (minor units of `currency`, already within the currency's bounds) as the
        processors take it, else AMOUNT_NOT_ALLOWED / AMOUNT_TOO_SMALL naming `param`."""
        rule = self.rule(currency)
        multiple = rule.payout_multiple if purpose is Purpose.PAYOUT else rule.charge_multiple
        if amount % multiple:
            raise ApiError(
                Reason.AMOUNT_NOT_ALLOWED,
                param=param,
                currency=currency,
                multiple=multiple,
                purpose=purpose.value,
            )
        if purpose is Purpose.CHARGE and amount < rule.minimum_charge:
            raise ApiError(
                Reason.AMOUNT_TOO_SMALL,
                param=param,
                currency=currency,
                minimum=rule.minimum_charge,
                converted="",
            )
        return amount

    def check_converted(
        self, param: str, amount: int, currency: str, target: str, converted: int
    ) -> None:
        """A new charge of `amount` `currency` that converts to `converted` minor units of its
        settlement currency `target`: at least `target`'s least charge too (Stripe's "Amount
        must convert to at least 50 cents"), else AMOUNT_TOO_SMALL naming `param`."""
        minimum = self.rule(target).minimum_charge
        if converted < minimum:
            raise ApiError(
                Reason.AMOUNT_TOO_SMALL,
                param=param,
                currency=target,
                minimum=minimum,
                converted=f" once converted: {amount} {currency} converts to {converted} {target}",
            )

    def payable(self, amount: int, currency: str) -> int:
        """The largest payout the processors take out of `amount` (minor units, >= 0) in
        `currency`: rounded down to a whole multiple of its payout multiple. The automatic
        payouts pay this and leave the rest for the next one (paycore.payout.payouts)."""
        return amount - amount % self.rule(currency).payout_multiple


def exponent_of(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency, 2)
