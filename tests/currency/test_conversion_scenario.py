"""The contract's scenario (issue 19): a JPY charge to a USD-settling merchant, a rate move, a
partial refund. The buyer gets exact yen back; the merchant's balance transactions show both
rates and the FX result; the numbers are the hand computation below.

Rates come in through the ECB file import: day 1 EUR = 1.2000 USD = 150.00 JPY, so one yen is
1.2 / 150 = 0.008 USD; day 2 EUR = 1.2000 USD = 160.00 JPY: 0.0075 USD.

Capture of JPY 10,000 at 0.008:
    gross       10,000 x 0.008 = 80.00 USD                       = 8,000 cents (exact)
    fee         the plan's 2.9 % + 30 on the yen: 290 + 30 = 320 JPY, at 0.008 = 256 cents
    conversion  1 % of 8,000                                     =    80 cents
    net         8,000 - 256 - 80                                 = 7,664 cents
Refund of JPY 3,333 at 0.0075 (the buyer gets JPY 3,333):
    merchant pays  3,333 x 0.0075 = 24.9975 USD = 2,499.75 cents, rounded up = 2,500 cents
                   (remainder 0.25 cent, kept on the rounding carry)
    refund row     3,333 at the original 0.008 = 2,666.4 cents, rounded up (as what the
                   merchant pays) = -2,667
    FX result      2,667 - 2,500 = +167 cents (the yen fell: the refund costs less)
Balance: 7,664 - 2,667 + 167 = 5,164 cents.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from paycore.v1 import ledger_pb2, wallet_pb2

from tests.currency.support import (
    account_balances,
    carry,
    import_ecb,
    rate,
    settle_in,
)
from tests.payout.support import World

DAY_1 = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
DAY_2 = "Date, USD, JPY,\n08 December 2026, 1.2000, 160.00,\n"
W = wallet_pb2


async def test_jpy_charge_to_usd_merchant_rate_move_partial_refund(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_1) > 0
    day_1 = await rate(shop, "jpy", "usd")
    assert (day_1.rate, day_1.source, day_1.stale) == ("0.008", "ecb", False)

    intent = await shop.charge(10_000, "jpy")
    (payment,) = await shop.transactions()
    assert (payment.type, payment.currency) == (W.BALANCE_TRANSACTION_TYPE_PAYMENT, "usd")
    assert (payment.amount, payment.fee, payment.net) == (8_000, 336, 7_664)
    assert (payment.exchange_rate, payment.presentment_amount, payment.presentment_currency) == (
        "0.008",
        10_000,
        "jpy",
    )
    assert [(line.type, line.amount) for line in payment.fee_details] == [
        ("processing_fee", 256),
        ("conversion_fee", 80),
    ]

    world.clock.advance(86_400)
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_2) > 0
    assert (await rate(shop, "jpy", "usd")).rate == "0.0075"

    refund = await shop.refund(intent.id, 3_333)
    assert (refund.amount, refund.currency) == (3_333, "jpy")

    rows = {row.type: row for row in await shop.transactions()}
    refunded, fx = (
        rows[W.BALANCE_TRANSACTION_TYPE_REFUND],
        rows[W.BALANCE_TRANSACTION_TYPE_FX_GAIN_LOSS],
    )
    assert (refunded.amount, refunded.currency, refunded.exchange_rate) == (-2_667, "usd", "0.008")
    assert (refunded.presentment_amount, refunded.presentment_currency) == (3_333, "jpy")
    assert (fx.amount, fx.currency, fx.exchange_rate) == (167, "usd", "0.0075")
    _, pending = await shop.balance()
    assert pending["usd"] == 7_664 - 2_667 + 167 == 5_164
    assert "jpy" not in pending or pending["jpy"] == 0

    # The buyer's side, in yen: the PSP holds 10,000 - 3,333 for the platform.
    jpy = await account_balances(shop, "jpy")
    assert -jpy["psp_receivable"] == 10_000 - 3_333
    assert jpy["fx_clearing:jpy_usd"] == 10_000 - 3_333
    usd = await account_balances(shop, "usd")
    assert usd["fees_revenue"] == 256 + 80
    assert usd["fx_clearing:jpy_usd"] == -8_000 + 2_500
    assert usd.get("fx_rounding", 0) == 0
    assert await carry(world, shop.id, "usd") == Fraction(1, 4)
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)
    report = await shop.operator.ledger.CheckIntegrity(
        ledger_pb2.CheckIntegrityRequest(merchant=shop.id)
    )
    assert report.ok, list(report.mismatches)


async def test_a_refund_at_the_charges_own_rate_has_no_fx_result(
    fx_world: World, tmp_path: Path
) -> None:
    """No rate move, no FX gain or loss: the refund of JPY 3,333 at the charge's 0.008 costs
    2,666.4 cents, rounded up (the platform is paid) = 2,667, and its refund row at the same
    rate says the same 2,667; no fx_gain_loss row (it showed -1 cent, the rounding, as an FX
    loss). The 0.6 cent the rounding kept is on the carry, as every conversion's."""
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_1) > 0
    intent = await shop.charge(10_000, "jpy")
    await shop.refund(intent.id, 3_333)
    rows = await shop.transactions()
    assert W.BALANCE_TRANSACTION_TYPE_FX_GAIN_LOSS not in [row.type for row in rows]
    [refunded] = [row for row in rows if row.type == W.BALANCE_TRANSACTION_TYPE_REFUND]
    assert (refunded.amount, refunded.exchange_rate) == (-2_667, "0.008")
    _, pending = await shop.balance()
    assert pending["usd"] == 7_664 - 2_667
    assert await carry(world, shop.id, "usd") == Fraction(3, 5)
    await shop.assert_books_balance("usd")
