"""Issue 13: "the time the job uses is injectable, so tests (and test-mode merchants) can move it
forward". A test-mode merchant cannot move the platform's clock; it does what Stripe's test mode
offers instead: a charge of the bypass-pending test card (4000000000000077, or the test payment
method `pm_card_bypassPending`) makes its funds available at once, so a payout can be tried end
to end on `make run` without waiting `delay_days`. Every other card still waits."""

from __future__ import annotations

from pathlib import Path

from paycore.v1 import payment_pb2, payout_pb2, wallet_pb2

from tests.connect.support import transfer
from tests.currency.support import import_ecb, settle_in
from tests.payment.shop import fee
from tests.payout.support import DAY, World

BYPASS_PENDING = "4000000000000077"


async def test_the_bypass_pending_card_makes_funds_available_at_once(world: World) -> None:
    shop = await world.shop()
    plain = await shop.charge(3000)
    bypassing = await shop.pay(BYPASS_PENDING, 10_000)
    named = await shop.pay_with("pm_card_bypassPending", 2000)
    assert {plain.status, bypassing.status, named.status} == {
        payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    }
    rows = {row.source: row for row in await shop.transactions()}
    now = int(world.clock.now)
    assert rows[bypassing.id].available_on == now
    assert rows[named.id].available_on == now
    assert rows[plain.id].available_on == now // DAY * DAY + 2 * DAY

    await world.run_jobs()  # the availability job, the same day
    at_once = 10_000 - fee(10_000) + 2000 - fee(2000)
    assert await shop.balance() == ({"usd": at_once}, {"usd": 3000 - fee(3000)})
    rows = {row.source: row for row in await shop.transactions()}
    assert rows[bypassing.id].status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
    assert rows[plain.id].status == wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING

    await shop.bank_account()
    payout = await shop.payout(at_once, key="bypass-pending-payout")
    assert payout.amount == at_once
    assert await shop.balance() == ({"usd": 0}, {"usd": 3000 - fee(3000)})
    # Canceled while queued (and so nothing is left for another test's worker to send).
    canceled = await shop.client.payouts.CancelPayout(payout_pb2.CancelPayoutRequest(id=payout.id))
    assert canceled.status == payout_pb2.PAYOUT_STATUS_CANCELED
    assert await shop.balance() == ({"usd": at_once}, {"usd": 3000 - fee(3000)})
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_manual_capture_of_the_bypass_pending_card_is_available_at_once(
    world: World,
) -> None:
    shop = await world.shop()
    authorized = await shop.pay(BYPASS_PENDING, 4000, manual=True)
    assert authorized.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    captured = await shop.client.payments.CapturePaymentIntent(
        payment_pb2.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=3000)
    )
    assert captured.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    [row] = await shop.transactions()
    assert (row.amount, row.available_on) == (3000, int(world.clock.now))
    await world.run_jobs()
    assert await shop.balance() == ({"usd": 3000 - fee(3000)}, {"usd": 0})
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_converted_charge_of_the_bypass_pending_card_is_available_at_once(
    fx_world: World, tmp_path: Path
) -> None:
    """Found by the audit of one merchant's money life: a USD-settling merchant's GBP charge of
    the bypass-pending card waited delay_days as any other (its conversion booked the row
    without `at_once`), while the same card's USD and EUR-settled charges were available."""
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    rates = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
    assert await import_ecb(world, tmp_path / "eurofxref.csv", rates) > 0
    converted = await shop.pay(BYPASS_PENDING, 10_000, "jpy")
    assert converted.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    [row] = await shop.transactions()
    assert (row.currency, row.amount, row.available_on) == ("usd", 8000, int(world.clock.now))

    await world.run_jobs()
    assert await shop.balance() == ({"usd": row.net}, {"usd": 0})
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")
    await shop.close()


async def test_a_destination_charge_of_the_bypass_pending_card_is_available_at_once(
    world: World,
) -> None:
    """Found by probing `make run`: a destination charge of pm_card_bypassPending left the
    merchant's charge row, its transfer row and the seller's share all pending for delay_days,
    so a seller's payout (issue 13, item 7) could not be tried in test mode. Stripe makes a
    destination charge's funds available on both sides when the charge's are."""
    shop = await world.shop()
    seller = await shop.seller()
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method=await shop.card(BYPASS_PENDING),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=1000,
        )
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    now = int(world.clock.now)
    rows = await shop.transactions() + await shop.transactions(account=seller)
    assert [row.available_on for row in rows] == [now] * 3

    await world.run_jobs()  # the availability job, the same day
    assert await shop.balance() == ({"usd": 1000 - fee(10_000)}, {"usd": 0})
    assert await shop.balance(seller) == ({"usd": 9000}, {"usd": 0})
    await shop.bank_account(account=seller)
    payout = await shop.payout(9000, account=seller)
    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    # Canceled while queued (and so nothing is left for another test's worker to send).
    canceled = await shop.client.payouts.CancelPayout(payout_pb2.CancelPayoutRequest(id=payout.id))
    assert canceled.status == payout_pb2.PAYOUT_STATUS_CANCELED
    await shop.assert_identity()
    await shop.assert_identity(account=seller)
    await shop.assert_clean()
    await shop.close()


async def test_the_bypass_pending_funds_pay_out_before_the_job_runs(world: World) -> None:
    """Found by probing `make run` by reflection: a payout, a transfer or a balance read right
    after a charge of pm_card_bypassPending saw nothing available until the worker's
    availability job had run (within a second), where Stripe's funds are available the moment
    the charge succeeds. What has come due is now settled by the call that needs it."""
    shop = await world.shop()
    seller = await shop.seller()
    plain = await shop.charge(3000)
    first = await shop.pay(BYPASS_PENDING, 10_000)
    assert {plain.status, first.status} == {payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED}
    # No job has run: the balance read itself counts what is due now, and only that.
    at_once = 10_000 - fee(10_000)
    assert await shop.balance() == ({"usd": at_once}, {"usd": 3000 - fee(3000)})
    rows = {row.source: row for row in await shop.transactions()}
    assert rows[first.id].status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
    assert rows[plain.id].status == wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING

    # A payout and a transfer right after the next charge, still without the job.
    second = await shop.pay_with("pm_card_bypassPending", 2000)
    await shop.bank_account()
    payout = await shop.payout(at_once + 2000 - fee(2000) - 1000, key="right-after-the-charge")
    sent = await transfer(shop, 1000, seller, key="transfer-right-after-the-charge")
    assert (payout.amount, sent.amount) == (at_once + 2000 - fee(2000) - 1000, 1000)
    assert await shop.balance() == ({"usd": 0}, {"usd": 3000 - fee(3000)})
    assert await shop.balance(seller) == ({"usd": 1000}, {"usd": 0})
    rows = {row.source: row for row in await shop.transactions()}
    assert rows[second.id].status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE
    # Canceled while queued (and so nothing is left for another test's worker to send).
    canceled = await shop.client.payouts.CancelPayout(payout_pb2.CancelPayoutRequest(id=payout.id))
    assert canceled.status == payout_pb2.PAYOUT_STATUS_CANCELED
    await shop.assert_identity()
    await shop.assert_identity(account=seller)
    await shop.assert_clean()
    await shop.close()
