"""CurrencyService over gRPC: request -> checks (requests.py) -> domain -> message
(messages.py)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore.account.service import AccountService
from paycore.currency.service import Currencies
from paycore.currency.servicer import requests
from paycore.currency.servicer.messages import rate_message, settlement_message
from paycore.runtime.context import current_call
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import Context, add_servicer, page_response
from paycore.v1 import currency_pb2, currency_pb2_grpc


def register(
    server: aio.Server, currencies: Currencies, accounts: AccountService, mutations: Mutations
) -> str:
    """Adds CurrencyService to `server`; returns its full name."""
    add = currency_pb2_grpc.add_CurrencyServiceServicer_to_server
    return add_servicer(server, add, CurrencyServicer(currencies, accounts, mutations))


@dataclass(frozen=True, slots=True)
class CurrencyServicer(currency_pb2_grpc.CurrencyServiceServicer):
    _currencies: Currencies
    _accounts: AccountService
    _mutations: Mutations

    async def GetExchangeRate(
        self, request: currency_pb2.GetExchangeRateRequest, context: Context
    ) -> currency_pb2.ExchangeRate:
        merchant_id = current_call().require_merchant()
        base, quote = requests.pair(request)
        return rate_message(await self._currencies.get_rate(merchant_id, base, quote))

    async def ListExchangeRates(
        self, request: currency_pb2.ListExchangeRatesRequest, context: Context
    ) -> currency_pb2.ListExchangeRatesResponse:
        merchant_id = current_call().require_merchant()
        base, cursor = requests.listing(request)
        page = await self._currencies.list_rates(merchant_id, base, cursor)
        return page_response(currency_pb2.ListExchangeRatesResponse, page, rate_message)

    async def GetSettlementCurrencies(
        self, request: currency_pb2.GetSettlementCurrenciesRequest, context: Context
    ) -> currency_pb2.SettlementCurrencies:
        merchant_id = current_call().require_merchant()
        account = requests.account(request.account, merchant_id)
        await self._seller(merchant_id, account)
        return settlement_message(await self._currencies.settlement(merchant_id, account))

    async def UpdateSettlementCurrencies(
        self, request: currency_pb2.UpdateSettlementCurrenciesRequest, context: Context
    ) -> currency_pb2.SettlementCurrencies:
        merchant_id = current_call().require_merchant()
        settlement = requests.settlement(request, merchant_id)
        await self._seller(merchant_id, settlement.account)
        return await self._mutations.answer(
            merchant_id, request, settlement_message, self._currencies.update_settlement, settlement
        )

    async def _seller(self, merchant_id: str, account: str) -> None:
        if account:
            await self._accounts.get_seller_account(merchant_id, account, "account")
