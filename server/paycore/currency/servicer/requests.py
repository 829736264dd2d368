"""CurrencyService requests checked into dataclasses; each failure an ApiError naming the
field, raised before anything changes."""

from __future__ import annotations

from paycore import validation
from paycore.currency.models import PairCursor, Settlement
from paycore.errors import invalid
from paycore.ids import Prefix
from paycore.iso import CURRENCY_EXPONENTS
from paycore.v1 import currency_pb2


def pair(request: currency_pb2.GetExchangeRateRequest) -> tuple[str, str]:
    return (
        validation.currency("base", request.base),
        validation.currency("quote", request.quote),
    )


def listing(request: currency_pb2.ListExchangeRatesRequest) -> tuple[str, PairCursor]:
    """(base or "", where the page starts); `starting_after` and `ending_before` are pairs
    ("usd_eur"), never both (INVALID_ARGUMENT naming `ending_before`)."""
    base = validation.currency("base", request.base) if request.base else ""
    limit = validation.list_limit(request.limit)
    if request.ending_before:
        if request.starting_after:
            raise invalid("ending_before", "cannot be given with starting_after")
        return base, PairCursor(limit, ending_before=_pair("ending_before", request.ending_before))
    if request.starting_after:
        return base, PairCursor(limit, _pair("starting_after", request.starting_after))
    return base, PairCursor(limit)


def _pair(param: str, value: str) -> tuple[str, str]:
    """A list cursor: a rate's `pair`, INVALID_ARGUMENT naming `param` and saying so for a
    value that is none (it called "bogus" an invalid currency code, and a bare code, Stripe's
    cursor, a missing `param`)."""
    first, _, second = value.lower().partition("_")
    if first not in CURRENCY_EXPONENTS or second not in CURRENCY_EXPONENTS:
        raise invalid(
            param,
            f"{value[:16]!r} is not the pair of a rate in the list: its base and quote"
            " currency codes joined by _, as each rate's `pair` reads (usd_eur)",
        )
    return first, second


def account(value: str, merchant_id: str) -> str:
    """The seller whose balance is meant; "" for the merchant's own, left out or named by its
    own id (`acct_...` of the caller, as a merchant naming itself would write it)."""
    found = validation.object_id("account", value, Prefix.ACCOUNT, required=False)
    return "" if found == merchant_id else found


def settlement(
    request: currency_pb2.UpdateSettlementCurrenciesRequest, merchant_id: str
) -> Settlement:
    return Settlement(
        account(request.account, merchant_id),
        validation.currencies("currencies", list(request.currencies)),
    )
