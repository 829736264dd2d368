"""Reconciling a day's converted charge adds no currency to the merchant's balance: found by the
audit of one merchant's money life, where a USD-settling merchant charged in EUR read
`{"available": [{"currency": "eur", "amount": 0}, ...], "pending": [{"currency": "eur", ...`
(and the dashboard an "EUR" balance) once a reconciliation run had settled the day, because the
run creates its ledger accounts in the charge's currency, the balance's among them. The
merchant never held a euro: its balance shows the currencies its balance moved in."""

from __future__ import annotations

from pathlib import Path

from paycore.reconciliation.models import Action, Kind, RunStatus, Status

from tests.currency.support import import_ecb, settle_in
from tests.payout.support import World
from tests.reconciliation.chargebacks import books_balance, dated
from tests.reconciliation.conftest import BankDesk


async def test_a_converted_charge_reconciled_adds_no_currency_to_the_balance(
    bank_desk: BankDesk, fx_world: World, tmp_path: Path
) -> None:
    world, desk, monday = fx_world, bank_desk.desk, bank_desk.monday
    shop = bank_desk.shops[1]
    await settle_in(shop, "usd")
    rates = f"Date, USD, JPY,\n{monday:%d %B %Y}, 1.2000, 150.00,\n"
    assert await import_ecb(world, tmp_path / "eurofxref.csv", rates) > 0
    await shop.charge(3_333, "jpy")
    before = await shop.balance()
    assert (set(before[0]), set(before[1])) == ({"usd"}, {"usd"})
    await dated(bank_desk, monday)

    run = await desk.run(monday)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    assert run.discrepancy_count == 0, run
    assert await shop.balance() == before
    for books in ("usd", "jpy"):
        await shop.assert_books_balance(books)


async def test_a_write_off_in_another_currency_adds_no_currency_to_the_balance(
    bank_desk: BankDesk,
) -> None:
    """An operator's write_off of a currency_mismatch (the PSP reported a USD charge in EUR)
    moves the residual between psp_receivable and reconciliation_write_offs, platform accounts;
    it made the merchant's balance_pending in eur as well, so the shop read an eur 0 balance
    for a currency it never sold in."""
    desk, monday = bank_desk.desk, bank_desk.monday
    shop = bank_desk.shops[0]
    intent = await shop.charge(4_000)
    before = await shop.balance()
    assert (set(before[0]), set(before[1])) == ({"usd"}, {"usd"})
    await dated(bank_desk, monday)
    fault: dict[str, object] = {
        "day": monday.isoformat(),
        "action": "currency",
        "id": intent.latest_charge,
        "currency": "eur",
    }
    await desk.alter_report([fault])
    run = await desk.run(monday)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    (found,) = [d for d in await desk.discrepancies(monday) if d.merchant_id == shop.id]
    assert (found.kind, found.status) == (Kind.CURRENCY_MISMATCH, Status.OPEN), found

    resolved = await bank_desk.resolve(found.id, Action.WRITE_OFF)

    assert len(resolved.ledger_transfer_ids) == 2, resolved  # one a currency
    assert await shop.balance() == before
    await books_balance(bank_desk)
    for books in ("usd", "eur"):
        await shop.assert_books_balance(books)
