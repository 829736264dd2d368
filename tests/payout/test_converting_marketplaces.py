"""Twenty simulated days of two marketplaces that settle in a currency of their own, ISK (payouts
in whole hundreds) and EUR, each with two sellers that settle in it too: charges in USD, EUR,
JPY, KWD and ISK (converted at the simulator's moving rates), destination charges with
application fees, refunds, transfers and their reversals, manual payouts (instant ones too),
daily and weekly automatic payouts, a seller's bank account that returns what it was paid,
and disputes (chargebacks and inquiries, won and lost). After every step of every day, per
account and settlement currency: pending + available + in transit + paid out = the net of
what came in, the rows agree with the ledger, and CheckIntegrity is clean; at the end every
automatic payout's rows add up to it and pays a whole multiple of its currency's rule."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import grpc
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2, payout_pb2

from tests.currency.support import settle_in, simulator_rates
from tests.dispute.support import read_feed
from tests.payment.shop import good_card
from tests.payout.support import PAID, RETURNED_AFTER_PAID, PayoutShop, World

P = payout_pb2
MULTIPLE = {"usd": 1, "eur": 1, "jpy": 1, "kwd": 10, "isk": 100}
LEAST = {"usd": 50, "eur": 50, "jpy": 50, "kwd": 200, "isk": 10_000}  # ISK: 100 kr
PAYOUT_MULTIPLE = {"isk": 100, "eur": 1}
DAYS = 20


@dataclass
class Marketplace:
    shop: PayoutShop
    settle: str
    sellers: list[str]
    intents: list[tuple[str, str, int]] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return ["", *self.sellers]

    async def check(self) -> None:
        for account in self.accounts:
            await self.shop.assert_identity(account, self.settle)
        await self.shop.assert_clean()


def _amount(chance: random.Random, currency: str) -> int:
    """At least three times the currency's least charge, so that it converts to at least the
    settlement currency's (¥58 made 35 euro cents: refused, AMOUNT_TOO_SMALL)."""
    least = 3 * LEAST[currency]
    value = chance.randint(least, 60_000)
    return max(least, value // MULTIPLE[currency] * MULTIPLE[currency])


async def _charges(chance: random.Random, market: Marketplace) -> None:
    shop = market.shop
    for _ in range(chance.randint(2, 5)):
        currency = chance.choice(list(MULTIPLE))
        amount = _amount(chance, currency)
        roll = chance.random()
        card = (
            cards.CARD_DISPUTE_FRAUDULENT
            if roll < 0.1
            else cards.CARD_DISPUTE_INQUIRY
            if roll < 0.15
            else good_card()
        )
        request = payment_pb2.CreatePaymentIntentRequest(
            amount=amount, currency=currency, payment_method=await shop.card(card), confirm=True
        )
        if chance.random() < 0.3:
            request.transfer_destination = chance.choice(market.sellers)
            request.application_fee_amount = chance.randint(0, amount // 3)
        intent = await shop.client.payments.CreatePaymentIntent(request)
        # A dispute card's charges are many in a real minute: fraud may hold one for review.
        if intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED:
            market.intents.append((intent.id, currency, amount))
        await market.check()


async def _refund(chance: random.Random, market: Marketplace) -> None:
    if not market.intents:
        return
    index = chance.randrange(len(market.intents))
    intent, currency, left = market.intents[index]
    part = min(
        left,
        max(MULTIPLE[currency], chance.randint(1, left) // MULTIPLE[currency] * MULTIPLE[currency]),
    )
    try:
        await market.shop.refund(intent, part)
    except grpc.aio.AioRpcError as error:  # a disputed charge
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
        return
    market.intents[index] = (intent, currency, left - part)
    await market.check()


async def _transfers(chance: random.Random, market: Marketplace) -> None:
    shop, settle = market.shop, market.settle
    available, _ = await shop.balance()
    if available.get(settle, 0) > 5000 and chance.random() < 0.5:
        transfer = await shop.client.payouts.CreateTransfer(
            P.CreateTransferRequest(
                amount=chance.randint(1, available[settle] // 3),
                currency=settle,
                destination=chance.choice(market.sellers),
            )
        )
        market.transfers.append(transfer.id)
        await market.check()
    if market.transfers and chance.random() < 0.3:
        try:
            await shop.client.payouts.CreateTransferReversal(
                P.CreateTransferReversalRequest(
                    id=chance.choice(market.transfers), amount=chance.randint(1, 500)
                )
            )
        except grpc.aio.AioRpcError as error:  # reversed in full already
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.FAILED_PRECONDITION,
            ), error
            return
        await market.check()


async def _payouts(chance: random.Random, market: Marketplace) -> None:
    shop, settle = market.shop, market.settle
    for account in market.accounts:
        available, pending = await shop.balance(account)
        have = available.get(settle, 0)
        if have <= 3000 or pending.get(settle, 0) < 0 or chance.random() > 0.25:
            continue
        amount = (
            chance.randint(1000, have // 2) // PAYOUT_MULTIPLE[settle] * PAYOUT_MULTIPLE[settle]
        )
        try:
            await shop.payout(
                amount, account=account, currency=settle, instant=chance.random() < 0.3
            )
        except grpc.aio.AioRpcError as error:  # the returning bank account errored
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            continue
        await market.check()


async def _decide_disputes(
    chance: random.Random, world: World, markets: list[Marketplace], decided: set[str]
) -> None:
    """The banks open what the dispute cards' charges bring, and decide each once."""
    world.clock.advance(120)
    await read_feed(world)
    for market in markets:
        rows = await world.sql(
            market.shop.id,
            "SELECT psp_dispute, id FROM disputes WHERE merchant_id = :m",
            m=market.shop.id,
        )
        for psp_dispute, dispute in rows:
            if dispute not in decided:
                decided.add(str(dispute))
                outcome = chance.choice(["won", "lost"])
                await world.psp.control(f"disputes/{psp_dispute}", {"outcome": outcome})
    await read_feed(world)
    for market in markets:
        await market.check()


async def _marketplace(world: World, settle: str) -> Marketplace:
    shop = await world.shop(f"Marketplace in {settle}")
    await settle_in(shop, settle)
    sellers = [await shop.seller("Alice"), await shop.seller("Bob")]
    for seller in sellers:
        await settle_in(shop, settle, account=seller)
    await shop.bank_account(PAID, currency=settle)
    await shop.bank_account(PAID, account=sellers[0], currency=settle)
    await shop.bank_account(RETURNED_AFTER_PAID, account=sellers[1], currency=settle)
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    await shop.schedule(
        P.PAYOUT_SCHEDULE_INTERVAL_WEEKLY,
        account=sellers[0],
        weekly_anchor=P.PAYOUT_WEEKLY_ANCHOR_FRIDAY,
    )
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY, account=sellers[1])
    return Marketplace(shop, settle, sellers)


async def test_converting_marketplaces_keep_every_balance_whole(world: World) -> None:
    chance = random.Random(19)
    await simulator_rates(world)
    markets = [await _marketplace(world, "isk"), await _marketplace(world, "eur")]
    decided: set[str] = set()
    for day in range(DAYS):
        await simulator_rates(world)
        await _decide_disputes(chance, world, markets, decided)
        for market in markets:
            await _charges(chance, market)
            await _refund(chance, market)
            await _transfers(chance, market)
            await _payouts(chance, market)
        if day == 9:  # Bob replaces the account that returns what it is paid
            for market in markets:
                await market.shop.bank_account(
                    PAID, account=market.sellers[1], currency=market.settle
                )
        await world.advance(1)
        for market in markets:
            await market.check()
    await world.advance(10)
    assert decided
    assert all(len(market.intents) > 40 for market in markets)
    carried = 0
    for market in markets:
        await market.check()
        for account in market.accounts:
            automatic = [p for p in await market.shop.payouts(account) if p.automatic]
            assert automatic, (market.settle, account)
            for payout in automatic:
                assert payout.amount % PAYOUT_MULTIPLE[market.settle] == 0, payout
                rows = await market.shop.transactions(account, payout=payout.id)
                # Its own row, and what it swept less a remainder carried on: its amount.
                [own] = [t for t in rows if t.source == payout.id and t.net == -payout.amount]
                assert sum(t.net for t in rows if t.id != own.id) == payout.amount, payout
                carried += any(t.source == payout.id and t.id != own.id for t in rows)
        await market.shop.close()
    assert carried  # ISK payouts carried a remainder to the next one
