"""Card checks: the number's shape, Luhn digit, brand and length, the expiry and the cvc.

Each failure is INVALID_ARGUMENT naming the field, with a reason of Stripe's:

    card.number     PARAMETER_MISSING, INVALID_NUMBER (not digits, wrong length, Luhn)
    card.exp_month  PARAMETER_MISSING, INVALID_EXPIRY_MONTH (not 1..12), EXPIRED_CARD
    card.exp_year   PARAMETER_MISSING, INVALID_EXPIRY_YEAR (not a year up to 50 years ahead),
                    EXPIRED_CARD
    card.cvc        INVALID_CVC (not 3 digits, 4 for amex); may be left out

No message carries the number or the cvc: they name the field and what is wrong with it.
A card is valid through the last day of its expiry month, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paycore.customer.models import CardBrand, CardFunding, CardInput, CheckedCard
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.secret import Secret

NUMBER_PARAM = "card.number"
EXP_MONTH_PARAM = "card.exp_month"
EXP_YEAR_PARAM = "card.exp_year"
CVC_PARAM = "card.cvc"
CRYPTOGRAM_PARAM = "card.wallet.cryptogram"
CRYPTOGRAM_LENGTH_MAX = 200
NUMBER_LENGTH_MIN = 12
NUMBER_LENGTH_MAX = 19
EXPIRY_YEARS_AHEAD_MAX = 50


@dataclass(frozen=True)
class _Range:
    """Numbers whose first len(low) digits lie in low..high (inclusive) belong to a brand."""

    low: str
    high: str

    def holds(self, digits: str) -> bool:
        head = digits[: len(self.low)]
        return self.low <= head <= self.high


def _ranges(*spans: str) -> tuple[_Range, ...]:
    return tuple(_Range(*span.split("-")) if "-" in span else _Range(span, span) for span in spans)


# Issuer identification number ranges per brand, as the networks publish them; first match wins.
_BRANDS: tuple[tuple[CardBrand, tuple[_Range, ...], frozenset[int]], ...] = (
    (CardBrand.VISA, _ranges("4"), frozenset({13, 16, 19})),
    (CardBrand.MASTERCARD, _ranges("51-55", "2221-2720"), frozenset({16})),
    (CardBrand.AMEX, _ranges("34", "37"), frozenset({15})),
    (CardBrand.DISCOVER, _ranges("6011", "644-649", "65"), frozenset(range(16, 20))),
    (CardBrand.DINERS, _ranges("300-305", "3095", "36", "38-39"), frozenset(range(14, 20))),
    (CardBrand.JCB, _ranges("3528-3589"), frozenset(range(16, 20))),
    (CardBrand.UNIONPAY, _ranges("62", "81"), frozenset(range(16, 20))),
)
_ANY_LENGTH = frozenset(range(NUMBER_LENGTH_MIN, NUMBER_LENGTH_MAX + 1))

# A small issuer table (the PSP simulator's and Stripe's test cards): prefix -> (country,
# funding); the longest matching prefix wins. Numbers outside it have country "" and funding
# unknown, which is what a real BIN table would also answer for an unlisted range.
_ISSUERS: dict[str, tuple[str, CardFunding]] = {
    "400000": ("US", CardFunding.CREDIT),
    "4000000760": ("BR", CardFunding.CREDIT),
    "4000001240": ("CA", CardFunding.CREDIT),
    "4000002760": ("DE", CardFunding.CREDIT),
    "4000003920": ("JP", CardFunding.CREDIT),
    "4000004840": ("MX", CardFunding.CREDIT),
    "4000008260": ("GB", CardFunding.CREDIT),
    "4000056": ("US", CardFunding.DEBIT),
    "424242": ("US", CardFunding.CREDIT),
    "555555": ("US", CardFunding.CREDIT),
    "222300": ("US", CardFunding.CREDIT),
    "520082": ("US", CardFunding.DEBIT),
    "510510": ("US", CardFunding.PREPAID),
    "378282": ("US", CardFunding.CREDIT),
    "371449": ("US", CardFunding.CREDIT),
    "601111": ("US", CardFunding.CREDIT),
    "305693": ("US", CardFunding.CREDIT),
    "356600": ("JP", CardFunding.CREDIT),
    "620000": ("CN", CardFunding.CREDIT),
}
_ISSUER_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _ISSUERS}, reverse=True)


def check_card(card: CardInput, now: datetime) -> CheckedCard:
    """The checked card (its number as digits only), or ApiError naming the first bad field."""
    digits = _checked_number(card.number.reveal())
    brand = brand_of(digits)
    exp_month, exp_year = _checked_expiry(card.exp_month, card.exp_year, now)
    _check_cvc(card.cvc.reveal(), brand)
    country, funding = issuer_of(digits)
    return CheckedCard(
        number=Secret(digits),
        exp_month=exp_month,
        exp_year=exp_year,
        brand=brand,
        last4=digits[-4:],
        country=country,
        funding=funding,
        wallet=_checked_wallet(card),
    )


def _checked_wallet(card: CardInput) -> str:
    """A wallet token's type, once its cryptogram is there and printable (never echoed)."""
    if not card.wallet:
        return ""
    cryptogram = card.cryptogram.reveal()
    if not cryptogram:
        raise missing(CRYPTOGRAM_PARAM)
    if len(cryptogram) > CRYPTOGRAM_LENGTH_MAX or not (
        cryptogram.isascii() and cryptogram.isprintable()
    ):
        raise invalid(CRYPTOGRAM_PARAM, f"at most {CRYPTOGRAM_LENGTH_MAX} printable characters")
    return card.wallet


def brand_of(digits: str) -> CardBrand:
    for brand, ranges, _ in _BRANDS:
        if any(span.holds(digits) for span in ranges):
            return brand
    return CardBrand.UNKNOWN


def issuer_of(digits: str) -> tuple[str, CardFunding]:
    for length in _ISSUER_PREFIX_LENGTHS:
        found = _ISSUERS.get(digits[:length])
        if found is not None:
            return found
    return "", CardFunding.UNKNOWN


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = ord(character) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _checked_number(text: str) -> str:
    digits = text.replace(" ", "")
    if not digits:
        raise missing(NUMBER_PARAM)
    if not (digits.isascii() and digits.isdigit()):
        raise _invalid_number("it must contain digits only (spaces are allowed)")
    if not NUMBER_LENGTH_MIN <= len(digits) <= NUMBER_LENGTH_MAX:
        raise _invalid_number(
            f"it must have {NUMBER_LENGTH_MIN} to {NUMBER_LENGTH_MAX} digits, not {len(digits)}"
        )
    brand = brand_of(digits)
    lengths = _lengths_of(brand)
    if len(digits) not in lengths:
        allowed = ", ".join(str(length) for length in sorted(lengths))
        raise _invalid_number(f"a {brand.value} number has {allowed} digits, not {len(digits)}")
    if not luhn_valid(digits):
        raise _invalid_number("its check digit is wrong (Luhn)")
    return digits


def _lengths_of(brand: CardBrand) -> frozenset[int]:
    for known, _, lengths in _BRANDS:
        if known is brand:
            return lengths
    return _ANY_LENGTH


def checked_new_expiry(exp_month: int, exp_year: int, now: datetime) -> tuple[int, int]:
    """An update's expiry (UpdatePaymentMethod: the stored month or year where the request
    gives none): refused as a new card's, but a 0 given is out of range, not missing."""
    return _checked_expiry(exp_month or -1, exp_year or -1, now)


def _checked_expiry(exp_month: int, exp_year: int, now: datetime) -> tuple[int, int]:
    if exp_month == 0:
        raise missing(EXP_MONTH_PARAM)
    if not 1 <= exp_month <= 12:
        raise ApiError(Reason.INVALID_EXPIRY_MONTH, param=EXP_MONTH_PARAM)
    if exp_year == 0:
        raise missing(EXP_YEAR_PARAM)
    latest = now.year + EXPIRY_YEARS_AHEAD_MAX
    if not 1000 <= exp_year <= latest:
        raise ApiError(Reason.INVALID_EXPIRY_YEAR, param=EXP_YEAR_PARAM, maximum=latest)
    if exp_year < now.year or (exp_year == now.year and exp_month < now.month):
        param = EXP_YEAR_PARAM if exp_year < now.year else EXP_MONTH_PARAM
        raise ApiError(Reason.EXPIRED_CARD, param=param, month=exp_month, year=exp_year)
    return exp_month, exp_year


def _check_cvc(cvc: str, brand: CardBrand) -> None:
    if not cvc:
        return
    digits = 4 if brand is CardBrand.AMEX else 3
    if len(cvc) != digits or not (cvc.isascii() and cvc.isdigit()):
        raise ApiError(Reason.INVALID_CVC, param=CVC_PARAM, digits=digits)


def _invalid_number(detail: str) -> ApiError:
    return ApiError(Reason.INVALID_NUMBER, param=NUMBER_PARAM, detail=detail)
