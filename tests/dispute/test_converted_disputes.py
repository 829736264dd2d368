"""Disputes of converted charges (issues 19 and 22): a JPY charge to a USD-settling merchant is
disputed after the rate moved. The chargeback takes the merchant's side in USD at the charge's
own rate (rounded up, as a refund's), the fee too (PAYCORE_DISPUTE_FEE yen at that rate, as the
charge's fee was); a win gives back the same USD; the buyer's side moves the exact yen. The
numbers are the hand computation below; every rounding remainder is kept (fx_rounding + the
carry) and the books of each currency balance after every step.

Rates through the ECB file import: day 1 EUR = 1.2000 USD = 150.00 JPY (one yen is 0.008 USD);
day 2 160.00 JPY (0.0075 USD).

Capture of JPY 3,333 at 0.008:
    exact        3,333 x 0.008 = 26.664 USD               = 2,666.4 cents
    gross        rounded down                             = 2,666 cents (remainder 0.4: carry)
    fee          the plan's 2.9 % + 30 on the yen = 127 JPY, at 0.008 = 101.6 -> 102 cents
    conversion   1 % of 2,666 = 26.66                     ->    27 cents
    net          2,666 - 102 - 27                         = 2,537 cents
Chargeback of JPY 3,333 on day 2, at the charge's 0.008 (not the day's 0.0075):
    amount       2,666.4 rounded up (the platform is paid) = 2,667 cents (remainder 0.6)
                 the carry 0.4 + 0.6 = 1: one cent to fx_rounding, carry 0
    fee          1,500 JPY at 0.008                       = 1,200 cents
    balance      2,537 - 2,667 - 1,200                    = -1,330 cents
Won: 2,667 cents back (the fee stays); the chargeback's remainder 0.6 leaves the carry
(0 - 0.6: the cent comes back from fx_rounding, carry 0.4). Balance 1,337 = 2,537 - 1,200.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, wallet_pb2

from tests.currency.support import account_balances, carry, import_ecb, rate, settle_in
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed
from tests.payout.support import PayoutShop, World

DAY_1 = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
DAY_2 = "Date, USD, JPY,\n08 December 2026, 1.2000, 160.00,\n"
S = dispute_pb2
W = wallet_pb2


async def _usd_pending(shop: PayoutShop) -> int:
    return (await shop.balance())[1].get("usd", 0)


async def _assert_books(shop: PayoutShop) -> None:
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)


async def _disputed_jpy_charge(world: World, tmp_path: Path) -> tuple[PayoutShop, S.Dispute]:
    """A USD-settling shop's charge at day 1's rate; the dispute opens after the rate moved
    (day 2)."""
    shop = await world.shop()
    await settle_in(shop, "usd")
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_1) > 0
    intent = await shop.pay(cards.CARD_DISPUTE_FRAUDULENT, 3_333, "jpy")
    (payment,) = await shop.transactions()
    assert (payment.amount, payment.fee, payment.net, payment.currency) == (
        2_666,
        129,
        2_537,
        "usd",
    )
    assert await carry(world, shop.id, "usd") == Fraction(2, 5)

    world.clock.advance(86_400)
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_2) > 0
    assert (await rate(shop, "jpy", "usd")).rate == "0.0075"
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    (dispute,) = (await shop.client.disputes.ListDisputes(S.ListDisputesRequest())).data
    assert dispute.payment_intent == intent.id
    # The dispute as the PSP reports it: the charge's yen, the fee in yen.
    assert (dispute.amount, dispute.currency, dispute.fee) == (3_333, "jpy", 1_500)
    return shop, dispute


async def test_a_won_dispute_of_a_converted_charge_moves_usd_at_the_charges_rate(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop, dispute = await _disputed_jpy_charge(world, tmp_path)

    (withdrawal,) = [t for t in await shop.transactions() if t.source == dispute.id]
    assert list(dispute.balance_transaction_ids) == [withdrawal.id]
    assert (withdrawal.type, withdrawal.currency) == (W.BALANCE_TRANSACTION_TYPE_ADJUSTMENT, "usd")
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-2_667, 1_200, -3_867)
    assert (
        withdrawal.exchange_rate,
        withdrawal.presentment_amount,
        withdrawal.presentment_currency,
    ) == ("0.008", 3_333, "jpy")
    assert await _usd_pending(shop) == 2_537 - 2_667 - 1_200 == -1_330
    assert "jpy" not in (await shop.balance())[1]
    jpy = await account_balances(shop, "jpy")
    # The bank took the yen back: the PSP owes the platform nothing for the charge any more.
    assert (jpy["psp_receivable"], jpy["fx_clearing:jpy_usd"]) == (0, 0)
    usd = await account_balances(shop, "usd")
    assert usd["fx_clearing:jpy_usd"] == -2_666 + 2_667 - 1 == 0
    assert (usd["fx_rounding"], await carry(world, shop.id, "usd")) == (1, Fraction(0))
    assert usd["fees_revenue"] == 102 + 27 + 1_200
    await _assert_books(shop)

    won = await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=dispute.id,
            evidence=S.DisputeEvidence(uncategorized_text="winning_evidence"),
            submit=True,
        )
    )
    assert won.status == S.DISPUTE_STATUS_UNDER_REVIEW
    await read_feed(world)
    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON

    rows = {t.id: t for t in await shop.transactions() if t.source == dispute.id}
    reinstated = rows[won.balance_transaction_ids[1]]
    assert (reinstated.amount, reinstated.fee, reinstated.currency) == (2_667, 0, "usd")
    assert (reinstated.exchange_rate, reinstated.presentment_amount) == ("0.008", 3_333)
    assert await _usd_pending(shop) == 2_537 - 1_200 == 1_337
    # Back where the capture left it, but for the fee.
    jpy = await account_balances(shop, "jpy")
    assert (-jpy["psp_receivable"], jpy["fx_clearing:jpy_usd"]) == (3_333, 3_333)
    usd = await account_balances(shop, "usd")
    assert usd["fx_clearing:jpy_usd"] == -2_666
    assert (usd["fx_rounding"], await carry(world, shop.id, "usd")) == (0, Fraction(2, 5))
    assert usd["fees_revenue"] == 102 + 27 + 1_200
    await _assert_books(shop)
    await shop.close()


async def test_a_lost_dispute_of_a_converted_charge_keeps_the_usd_withdrawn(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop, dispute = await _disputed_jpy_charge(world, tmp_path)
    assert await _usd_pending(shop) == -1_330

    closed = await shop.client.disputes.CloseDispute(S.CloseDisputeRequest(id=dispute.id))
    await read_feed(world)

    assert closed.status == S.DISPUTE_STATUS_LOST
    assert len(closed.balance_transaction_ids) == 1
    assert await _usd_pending(shop) == -1_330
    usd = await account_balances(shop, "usd")
    assert (usd["fx_rounding"], await carry(world, shop.id, "usd")) == (1, Fraction(0))
    await _assert_books(shop)
    await shop.close()
