"""CurrencyService requests checked into dataclasses; each failure an ApiError naming the
field, raised before anything changes."""

from __future__ import annotations

from paycore import validation
from paycore.currency.models import Settlement
from paycore.ids import Prefix
from paycore.v1 import currency_pb2


def pair(request: currency_pb2.GetExchangeRateRequest) -> tuple[str, str]:
    return (
        validation.currency("base", request.base),
        validation.currency("quote", request.quote),
    )


def listing(request: currency_pb2.ListExchangeRatesRequest) -> tuple[str, tuple[str, str], int]:
    """(base or "", the pair to list after, limit)."""
    base = validation.currency("base", request.base) if request.base else ""
    after = ("", "")
    if request.starting_after:
        first, _, second = request.starting_after.partition("_")
        after = (
            validation.currency("starting_after", first),
            validation.currency("starting_after", second),
        )
    return base, after, validation.list_limit(request.limit)


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
