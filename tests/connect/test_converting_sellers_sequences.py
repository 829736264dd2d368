"""Seeded random sequences of a marketplace whose sellers settle in other currencies than the
platform: destination charges in USD, EUR and JPY with application fees, refunds with and
without reverse_transfer and refund_application_fee, the fee's own refunds, transfers and
their reversals, at the simulator's moving rates. After every step, per currency: the books
balance and CheckIntegrity is clean, and each balance (the platform's and each seller's) has
its identity (pending + available + in transit + paid out = the net of its rows). At the end,
in each seller's currency (where only crossings convert: the platform settles in USD),
fx_rounding + the carry is exactly what the crossings' rounding kept, as the sellers' rows
show it (each its locked rate and the platform's side; a part of money coming back or an
application fee given back may keep less than nothing), and the carry is below one unit."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import grpc
import pytest
from paycore.currency.conversion import exact_value
from paycore.v1 import payment_pb2, payout_pb2, wallet_pb2

from tests.connect.test_converting_sellers import seller_in
from tests.currency.support import carry, settle_in, simulator_rates
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

CURRENCIES = ("usd", "eur", "jpy")
W = wallet_pb2


async def _check(shop: PayoutShop, sellers: list[str]) -> None:
    for currency in CURRENCIES:
        await shop.assert_books_balance(currency)
        for account in ("", *sellers):
            await shop.assert_identity(account, currency)


async def _step(
    chance: random.Random,
    shop: PayoutShop,
    sellers: list[str],
    intents: list[tuple[str, int]],
    transfers: list[str],
) -> None:
    roll = chance.random()
    if roll < 0.4 or not intents:
        currency = chance.choice(CURRENCIES)
        amount = chance.randint(500, 50_000)
        intent = await shop.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=amount,
                currency=currency,
                payment_method=await shop.card(good_card()),
                confirm=True,
                transfer_destination=chance.choice(sellers),
                application_fee_amount=chance.randint(0, amount // 3),
            )
        )
        assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
        intents.append((intent.id, amount))
    elif roll < 0.7:
        index = chance.randrange(len(intents))
        intent_id, left = intents[index]
        if left < 100:
            return
        part = chance.randint(50, left)
        await shop.client.payments.CreateRefund(
            payment_pb2.CreateRefundRequest(
                payment_intent=intent_id,
                amount=part,
                reverse_transfer=chance.random() < 0.7,
                refund_application_fee=chance.random() < 0.7,
            )
        )
        intents[index] = (intent_id, left - part)
    elif roll < 0.8:
        charged, _ = chance.choice(intents)
        try:
            await shop.client.payments.CreateApplicationFeeRefund(
                payment_pb2.CreateApplicationFeeRefundRequest(
                    id="fee_" + charged.removeprefix("pi_"), amount=chance.randint(100, 400)
                )
            )
        except grpc.aio.AioRpcError as error:  # the fee given back already, or too small
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.FAILED_PRECONDITION,
            ), error
    elif roll < 0.9:
        available, _ = await shop.balance()
        if available.get("usd", 0) > 2_000:
            sent = await shop.client.payouts.CreateTransfer(
                payout_pb2.CreateTransferRequest(
                    amount=chance.randint(1, 2_000), currency="usd", destination=sellers[0]
                )
            )
            transfers.append(sent.id)
    elif transfers:
        try:
            await shop.client.payouts.CreateTransferReversal(
                payout_pb2.CreateTransferReversalRequest(
                    id=chance.choice(transfers), amount=chance.randint(1, 700)
                )
            )
        except grpc.aio.AioRpcError as error:  # reversed in full already
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.FAILED_PRECONDITION,
            ), error


@pytest.mark.parametrize("seed", [6, 19])
async def test_sellers_in_other_currencies_keep_the_books_whole(world: World, seed: int) -> None:
    chance = random.Random(seed)
    await simulator_rates(world)
    shop = await world.shop()
    await settle_in(shop, "usd")
    sellers = [await seller_in(shop, "eur"), await seller_in(shop, "jpy")]
    intents: list[tuple[str, int]] = []
    transfers: list[str] = []
    for _ in range(3):
        await simulator_rates(world)
        for _ in range(8):
            await _step(chance, shop, sellers, intents, transfers)
            await _check(shop, sellers)
        await world.advance(1)
    kept = await _rounding_kept(shop, sellers)
    assert set(kept) == {"eur", "jpy"}, kept
    for currency, remainders in kept.items():
        left = await carry(world, shop.id, currency)
        assert 0 <= left < 1, (currency, left)
        booked = await shop.ledger_balance("fx_rounding", currency)
        assert booked + left == remainders, (currency, booked, left, remainders)


CREDITED = (W.BALANCE_TRANSACTION_TYPE_PAYMENT, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND)


async def _rounding_kept(shop: PayoutShop, sellers: list[str]) -> dict[str, Fraction]:
    """Per currency, what every crossing's rounding kept for the platform, as the seller's rows
    show it (the parts of one move, available then pending, added up): the exact value less
    what the seller got (a share, a transfer, an application fee given back), or what it gave
    back less the exact value (a reversal). A part undoing money that crossed moves the
    difference it makes to the seller's holding (paycore.currency.crossing.part_of), so it may
    keep less than nothing: it gives back what earlier parts kept."""
    moves: dict[tuple[str, str, int], tuple[int, W.BalanceTransaction]] = {}
    for seller in sellers:
        for row in await shop.transactions(seller):
            if row.exchange_rate:
                key = (seller, row.source, row.type)
                total, _ = moves.get(key, (0, row))
                moves[key] = (total + row.amount, row)
    kept: dict[str, Fraction] = {}
    for amount, row in moves.values():
        exact = exact_value(
            row.presentment_amount,
            Decimal(row.exchange_rate),
            row.presentment_currency,
            row.currency,
        )
        signed = exact if row.type in CREDITED else -exact
        kept[row.currency] = kept.get(row.currency, Fraction(0)) + signed - amount
    return kept
