"""The contract's property (issue 19): any sequence of charges, partial captures and refunds
across usd, eur, jpy, kwd and isk never creates or loses a minor unit. Sequences come from a
seeded random generator (each seed is one reproducible run); the rates are the PSP simulator's,
moved between operations by moving the clock and running the rates job.

A model computes every amount on its own from the documented rules (docs/currencies.md):
a capture credits floor(P x q) less the plan's fee (at q, half up) and the 1 % conversion fee;
a refund debits ceil(P' x q_now); each rounding remainder is exact. At the end, per merchant and
currency: the balance is the model's, the buyer's side (psp_receivable) holds exactly the
presentment amounts, fx_rounding + the carry = the sum of the remainders (0 <= carry < 1), and
CheckIntegrity is clean (every currency's books sum to zero).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pytest
from paycore.currency.rules import CurrencyRules, exponent_of
from paycore.v1 import ledger_pb2

from tests.currency.support import (
    account_balances,
    authorize,
    capture,
    carry,
    rate,
    settle_in,
    simulator_rates,
)
from tests.payment.shop import fee, good_card
from tests.payout.support import PayoutShop, World

CURRENCIES = ("usd", "eur", "jpy", "kwd", "isk")
RULES = CurrencyRules()
STEPS = 24
# (largest amount in units of the currency's charge multiple)
SPANS = {"usd": 20_000, "eur": 20_000, "jpy": 20_000, "kwd": 6_000, "isk": 200}


@dataclass
class Charged:
    intent: str
    currency: str
    amount: int
    refunded: int = 0


@dataclass
class Model:
    """What a merchant's books must hold, computed from the documented rules alone."""

    settles_in: tuple[str, ...]
    balance: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    remainders: dict[str, Fraction] = field(default_factory=lambda: defaultdict(Fraction))
    charges: list[Charged] = field(default_factory=list)

    def target(self, currency: str) -> str | None:
        return None if currency in self.settles_in else self.settles_in[0]


def _exact(amount: int, quoted: str, source: str, target: str) -> Fraction:
    shift = exponent_of(target) - exponent_of(source)
    return Fraction(amount) * Fraction(Decimal(quoted)) * Fraction(10) ** shift


def _amount(generator: random.Random, currency: str, least: int = 0) -> int:
    rule = RULES.rule(currency)
    lowest = max(least, rule.minimum_charge)
    units = generator.randint(-(-lowest // rule.charge_multiple), SPANS[currency])
    return units * rule.charge_multiple


def _part(generator: random.Random, currency: str, whole: int) -> int:
    multiple = RULES.rule(currency).charge_multiple
    return generator.randint(1, whole // multiple) * multiple


async def _captured(shop: PayoutShop, model: Model, charged: Charged) -> None:
    """The model's side of a capture of `charged` (already captured at the current rate)."""
    amount, currency = charged.amount, charged.currency
    model.received[currency] += amount
    model.charges.append(charged)
    target = model.target(currency)
    if target is None:
        model.balance[currency] += amount - fee(amount)
        return
    quoted = (await rate(shop, currency, target)).rate
    exact = _exact(amount, quoted, currency, target)
    gross = math.floor(exact)
    model.remainders[target] += exact - gross
    processing = min(
        gross, math.floor(_exact(fee(amount), quoted, currency, target) + Fraction(1, 2))
    )
    conversion = min(gross - processing, (gross * 100 * 2 + 10_000) // 20_000)
    model.balance[target] += gross - processing - conversion
    rows = await shop.transactions()
    (payment,) = [row for row in rows if row.source == charged.intent]
    assert (payment.exchange_rate, payment.amount) == (str(Decimal(quoted)), gross)


async def _refund(shop: PayoutShop, model: Model, charged: Charged, amount: int) -> None:
    await shop.refund(charged.intent, amount)
    charged.refunded += amount
    currency = charged.currency
    model.received[currency] -= amount
    target = model.target(currency)
    if target is None:
        model.balance[currency] -= amount
        return
    exact = _exact(amount, (await rate(shop, currency, target)).rate, currency, target)
    owed = math.ceil(exact)
    model.remainders[target] += owed - exact
    model.balance[target] -= owed


async def _step(world: World, shop: PayoutShop, model: Model, generator: random.Random) -> None:
    action = generator.choice(("charge", "charge", "partial_capture", "refund", "refund", "move"))
    if action == "move":
        world.clock.advance(generator.randint(1, 240) * 60)
        await simulator_rates(world)
        return
    refundable = [charged for charged in model.charges if charged.refunded < charged.amount]
    if action == "refund" and refundable:
        charged = generator.choice(refundable)
        left = charged.amount - charged.refunded
        await _refund(
            shop,
            model,
            charged,
            left if generator.random() < 0.3 else _part(generator, charged.currency, left),
        )
        return
    currency = generator.choice(CURRENCIES)
    amount = _amount(generator, currency)
    if action == "partial_capture":
        authorized = await authorize(shop, amount, currency)
        captured = _part(generator, currency, amount)
        await capture(shop, authorized.id, captured)
        await _captured(shop, model, Charged(authorized.id, currency, captured))
        return
    intent = await shop.pay(good_card(), amount, currency)
    await _captured(shop, model, Charged(intent.id, currency, amount))


async def _check(world: World, shop: PayoutShop, model: Model) -> None:
    available, pending = await shop.balance()
    for currency in CURRENCIES:
        total = available.get(currency, 0) + pending.get(currency, 0)
        assert total == model.balance[currency], (currency, total, dict(model.balance))
        accounts = await account_balances(shop, currency)
        assert -accounts.get("psp_receivable", 0) == model.received[currency], currency
        kept = await carry(world, shop.id, currency)
        assert 0 <= kept < 1
        assert accounts.get("fx_rounding", 0) + kept == model.remainders[currency], currency
    report = await shop.operator.ledger.CheckIntegrity(
        ledger_pb2.CheckIntegrityRequest(merchant=shop.id)
    )
    assert report.ok, list(report.mismatches)
    for books in report.currencies:
        assert books.balances.debits_posted == books.balances.credits_posted, books
        assert books.balances.debits_pending == books.balances.credits_pending, books


@pytest.mark.parametrize("seed", [19, 2026, 4217])
async def test_no_minor_unit_is_created_or_lost(fx_world: World, seed: int) -> None:
    world = fx_world
    generator = random.Random(seed)
    assert await simulator_rates(world) > 0
    shops = [await world.shop("USD shop"), await world.shop("KWD shop")]
    models = [Model(("usd",)), Model(("kwd", "eur"))]
    for shop, model in zip(shops, models, strict=True):
        await settle_in(shop, *model.settles_in)
    for _ in range(STEPS):
        index = generator.randrange(len(shops))
        await _step(world, shops[index], models[index], generator)
    for shop, model in zip(shops, models, strict=True):
        await _check(world, shop, model)
    assert any(model.remainders[currency] for model in models for currency in CURRENCIES)
