"""Currencies test support: rates put in through the real import (an ECB reference-rates file
the rates job reads) or the simulator's moving rates, merchants that settle in a currency, and
the readings every conversion scenario checks (ledger accounts by code, the rounding carry)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from paycore.currency.job import ExchangeRatesJob
from paycore.currency.providers import EcbFileRates, RatesProvider, SimulatorRates
from paycore.v1 import currency_pb2, ledger_pb2, payment_pb2

from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World


async def run_rates_job(world: World, provider: RatesProvider) -> int:
    """The worker's exchange_rates job, once on every shard."""
    job = ExchangeRatesJob(provider, world.platform.currencies.rates)
    return sum([await job.run(engine) for engine in world.platform.shards.engines])


async def import_ecb(world: World, path: Path, csv_text: str) -> int:
    await asyncio.to_thread(path.write_text, csv_text, "utf-8")
    return await run_rates_job(world, EcbFileRates(path))


async def simulator_rates(world: World) -> int:
    return await run_rates_job(world, SimulatorRates(world.psp.url))


async def settle_in(shop: PayoutShop, *currencies: str, account: str = "") -> None:
    answer = await shop.client.currencies.UpdateSettlementCurrencies(
        currency_pb2.UpdateSettlementCurrenciesRequest(account=account, currencies=currencies)
    )
    assert list(answer.currencies) == list(currencies)


async def rate(shop: PayoutShop, base: str, quote: str) -> currency_pb2.ExchangeRate:
    return await shop.client.currencies.GetExchangeRate(
        currency_pb2.GetExchangeRateRequest(base=base, quote=quote)
    )


async def account_balances(shop: PayoutShop, currency: str) -> dict[str, int]:
    """Each of the merchant's ledger accounts in `currency` by code: credits - debits (posted)."""
    found: dict[str, int] = {}
    after = ""
    while True:
        page = await shop.operator.ledger.ListAccounts(
            ledger_pb2.ListAccountsRequest(
                limit=100, starting_after=after, merchant=shop.id, currency=currency
            )
        )
        for account in page.data:
            balances = account.balances
            found[account.code] = balances.credits_posted - balances.debits_posted
        if not page.has_more:
            return found
        after = page.data[-1].id


async def carry(world: World, merchant_id: str, currency: str) -> Fraction:
    rows = await world.sql(
        merchant_id,
        "SELECT carry FROM fx_rounding_carries WHERE merchant_id = :m AND currency = :c",
        m=merchant_id,
        c=currency,
    )
    return Fraction(Decimal(str(rows[0][0]))) if rows else Fraction(0)


async def authorize(shop: PayoutShop, amount: int, currency: str) -> payment_pb2.PaymentIntent:
    intent = await shop.pay(good_card(), amount, currency, manual=True)
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE, intent
    return intent


async def capture(shop: PayoutShop, intent: str, amount: int) -> payment_pb2.PaymentIntent:
    captured = await shop.client.payments.CapturePaymentIntent(
        payment_pb2.CapturePaymentIntentRequest(id=intent, amount_to_capture=amount)
    )
    assert captured.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, captured
    return captured
