"""Currency dataclasses -> CurrencyService messages."""

from __future__ import annotations

from paycore.currency.models import RateView, Settlement, rate_text
from paycore.runtime.messages import converts
from paycore.v1 import currency_pb2


@converts(currency_pb2.ExchangeRate)
def rate_message(view: RateView) -> currency_pb2.ExchangeRate:
    rate = view.rate
    return currency_pb2.ExchangeRate(
        pair=f"{rate.base}_{rate.quote}",
        base=rate.base,
        quote=rate.quote,
        rate=rate_text(rate.rate),
        source=rate.source,
        valid_from=rate.valid_from,
        valid_to=rate.valid_to or 0,
        age_seconds=view.age_seconds,
        stale=view.stale,
    )


@converts(currency_pb2.SettlementCurrencies)
def settlement_message(settlement: Settlement) -> currency_pb2.SettlementCurrencies:
    return currency_pb2.SettlementCurrencies(
        account=settlement.account, currencies=list(settlement.currencies)
    )
