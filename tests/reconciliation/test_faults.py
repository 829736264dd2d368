"""Each fault in the PSP's report (and each paycore record the PSP disagrees with) is found
exactly once, with its kind and objects, and nothing else is; the kinds that resolve
themselves do, leaving the books balanced and the settled day's psp_receivable explained by
what stays open; a timing line closes itself when the next day's report carries it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from paycore.ids import HOME_LOGICAL_SHARD, Prefix, logical_shard_of, new_id
from paycore.reconciliation.models import (
    RECONCILIATION_OWNER,
    Action,
    Kind,
    Resolution,
    RunStatus,
    Status,
)
from paycore.storage.raw import driver_of
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.reconciliation.chargebacks import resolve
from tests.reconciliation.conftest import Desk
from tests.reconciliation.day import (
    Charge,
    Execution,
    Refund,
    at,
    plan_day,
    psp_id,
    unique_day,
)


def _intent(merchant_id: str, amount: int, when: dt.datetime) -> Charge:
    shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    return Charge(merchant_id, new_id(Prefix.PAYMENT_INTENT, shard), psp_id(), amount, "usd", when)


async def test_each_fault_is_found_once_with_its_kind_and_objects(desk: Desk) -> None:
    day = unique_day()
    opened = await desk.open_now()
    merchant, other = desk.merchants[0], desk.merchants[1]
    charges = plan_day(desk.merchants, day, 40, 10, seed=11)
    late = charges[5]
    late.at = at(day, 23 * 3600 + 30 * 60)  # in the timing window before midnight
    late.refunds.clear()
    await desk.writer.write(charges)
    plain = [c for c in charges if not c.refunds and c is not late]
    dropped, mismatched, foreign, doubled, overcharged, refunded = plain[0:6]

    # paycore's side of three disagreements the PSP's report will show:
    lost = _intent(merchant, 4_200, at(day, 3_600))  # the charge's answer was lost
    await desk.writer.intents([lost], status="requires_payment_method")
    authorized = _intent(other, 7_700, at(day, 7_200))  # captured at the PSP only
    await desk.writer.intents([authorized], status="requires_capture")
    # A refund the PSP made, still pending in paycore:
    pending = Refund(
        new_id(Prefix.REFUND, logical_shard_of(refunded.merchant_id, Prefix.ACCOUNT)),
        "rf_" + psp_id()[3:],
        refunded.amount // 2,
        refunded.at + dt.timedelta(minutes=5),
    )
    await desk.writer.executions(
        [
            Execution(
                merchant,
                "charge",
                lost.intent_id,
                None,
                lost.amount,
                "usd",
                "",
                "dead_lettered",
                "",
                lost.at,
            ),
            Execution(
                other,
                "authorize",
                authorized.intent_id,
                None,
                authorized.amount,
                "usd",
                "",
                "succeeded",
                authorized.psp_id,
                authorized.at,
            ),
            Execution(
                refunded.merchant_id,
                "refund",
                refunded.intent_id,
                pending.id,
                pending.amount,
                "usd",
                refunded.psp_id,
                "unknown_outcome",
                "",
                pending.at,
            ),
        ]
    )
    await desk.writer.refunds([(refunded, pending, "pending")])
    desk.writer.psp([lost, authorized])
    with desk.writer.store.transaction():
        from paycore.tools.psp.store import Refund as PspRefund

        assert desk.writer.store.add_refund(
            PspRefund(
                pending.psp_id,
                refunded.psp_id,
                pending.amount,
                "usd",
                "succeeded",
                int(pending.at.timestamp() * 1000),
            )
        )
    # ... and the report's own faults:
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": dropped.psp_id},
            {
                "day": iso,
                "action": "amount",
                "id": mismatched.psp_id,
                "amount": mismatched.amount + 100,
            },
            {"day": iso, "action": "currency", "id": foreign.psp_id, "currency": "eur"},
            {"day": iso, "action": "duplicate", "id": doubled.psp_id},
            {"day": iso, "action": "fee", "id": overcharged.psp_id, "fee": overcharged.fee + 7},
            {"day": iso, "action": "next_day", "id": late.psp_id},
            {
                "day": iso,
                "action": "unknown_charge",
                "merchant": other,
                "amount": 999,
                "currency": "usd",
            },
        ]
    )

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    seen = sorted((d.kind, d.object_id, d.merchant_id) for d in found)
    assert seen == sorted(
        [
            (Kind.MISSING_AT_PSP, dropped.intent_id, dropped.merchant_id),
            (Kind.AMOUNT_MISMATCH, mismatched.intent_id, mismatched.merchant_id),
            (Kind.CURRENCY_MISMATCH, foreign.intent_id, foreign.merchant_id),
            (Kind.DUPLICATE, doubled.intent_id, doubled.merchant_id),
            (Kind.FEE_MISMATCH, overcharged.intent_id, overcharged.merchant_id),
            (Kind.TIMING, late.intent_id, late.merchant_id),
            (Kind.MISSING_IN_PAYCORE, "", other),
            (Kind.MISSING_IN_PAYCORE, lost.intent_id, merchant),
            (Kind.STATUS_MISMATCH, authorized.intent_id, other),
            (Kind.STATUS_MISMATCH, pending.id, refunded.merchant_id),
        ]
    )
    assert run.discrepancy_count == 10
    assert run.record_count == 40 + 10 - 2 + 1 + 1 + 2 + 1  # less dropped/moved; extras
    by_kind = {(d.kind, d.object_id): d for d in found}
    amount = by_kind[(Kind.AMOUNT_MISMATCH, mismatched.intent_id)]
    assert (amount.internal_amount, amount.psp_amount) == (
        mismatched.amount,
        mismatched.amount + 100,
    )
    currency = by_kind[(Kind.CURRENCY_MISMATCH, foreign.intent_id)]
    assert (currency.internal_currency, currency.psp_currency) == ("usd", "eur")
    fee = by_kind[(Kind.FEE_MISMATCH, overcharged.intent_id)]
    assert (fee.internal_fee, fee.psp_fee) == (overcharged.fee, overcharged.fee + 7)
    duplicate = by_kind[(Kind.DUPLICATE, doubled.intent_id)]
    assert doubled.intent_id in duplicate.object_ids and duplicate.psp_amount == doubled.amount
    lost_found = by_kind[(Kind.MISSING_IN_PAYCORE, lost.intent_id)]
    assert lost_found.reference == lost.psp_id
    assert lost_found.internal_status == "requires_payment_method"
    status = by_kind[(Kind.STATUS_MISMATCH, pending.id)]
    assert (status.internal_status, status.psp_status) == ("pending", "succeeded")

    # The kinds that resolve themselves did; the rest wait for an operator.
    auto = {d.kind for d in found if d.action is Action.AUTO}
    assert auto == {Kind.DUPLICATE, Kind.FEE_MISMATCH}
    assert all(d.ledger_transfer_ids for d in found if d.action is Action.AUTO)
    assert run.auto_resolved_count == 2
    assert all(report.ok for report in await desk.integrity())
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable
    assert desk.open_gauge("timing") == opened["timing"] + 1

    # Running the day again finds the same, creates nothing, books nothing twice.
    again = await desk.run(day)
    assert (again.discrepancy_count, again.auto_resolved_count) == (10, 2)
    assert [d.id for d in await desk.discrepancies(day)] == [d.id for d in found]

    # The next day's report carries the moved line: the timing discrepancy closes itself.
    next_day = await desk.run(day + dt.timedelta(days=1))
    assert next_day.status is RunStatus.SUCCEEDED, next_day.failure_message
    assert (next_day.record_count, next_day.matched_count, next_day.discrepancy_count) == (
        1,
        1,
        0,
    )
    timing = next(d for d in await desk.discrepancies(day) if d.kind is Kind.TIMING)
    assert (timing.status, timing.action) == (Status.RESOLVED, Action.AUTO)
    assert desk.open_gauge("timing") == opened["timing"]
    for receivable in await desk.receivables(day + dt.timedelta(days=1)):
        assert receivable.ledger_amount == receivable.open_residual == 0, receivable

    # Operators settle the rest; each booking happens once, and the day comes to zero but
    # for what was ignored.
    actions = {
        Kind.MISSING_AT_PSP: Action.WRITE_OFF,
        Kind.AMOUNT_MISMATCH: Action.ADJUST,
        Kind.CURRENCY_MISMATCH: Action.WRITE_OFF,
        Kind.STATUS_MISMATCH: Action.ADJUST,
        Kind.MISSING_IN_PAYCORE: Action.REFUND_AT_PSP,
    }
    for discrepancy in await desk.discrepancies(day):
        if discrepancy.status is Status.OPEN:
            action = actions[discrepancy.kind]
            if discrepancy.object_id == pending.id:
                action = Action.IGNORE
            await _resolve(desk, discrepancy.merchant_id, discrepancy.id, action)
    for receivable in await desk.receivables(day):
        assert receivable.ledger_amount == receivable.open_residual, receivable
    # An adjustment moves the merchant's balance: its transfer has a balance transaction, so
    # the balance's history shows it (pending, like the sale it corrects).
    adjusted = [d for d in await desk.discrepancies(day) if d.action is Action.ADJUST]
    assert {d.kind for d in adjusted} == {Kind.AMOUNT_MISMATCH, Kind.STATUS_MISMATCH}
    for discrepancy in adjusted:
        rows = await _adjustment_rows(desk, discrepancy.merchant_id, discrepancy.id)
        assert [(row["ledger_transfer_id"], row["status"]) for row in rows] == [
            (transfer_id, "pending") for transfer_id in discrepancy.ledger_transfer_ids
        ]
        assert [row["amount"] for row in rows] == [
            -amount for _, amount in sorted(discrepancy.receivable_residual().items())
        ]
    ignored = [d for d in await desk.discrepancies(day) if d.action is Action.IGNORE]
    assert [d.object_id for d in ignored] == [pending.id]
    explained = {(r.merchant_id, r.currency): r.ledger_amount for r in await desk.receivables(day)}
    assert explained[(refunded.merchant_id, "usd")] == pending.amount
    assert all(
        amount == 0 for key, amount in explained.items() if key != (refunded.merchant_id, "usd")
    ), explained
    assert all(report.ok for report in await desk.integrity())
    assert {kind: desk.open_gauge(kind) or 0.0 for kind in opened} == opened


async def _adjustment_rows(desk: Desk, merchant_id: str, source: str) -> list[Any]:
    async with desk.platform.shards.read(merchant_id) as connection:
        driver = await driver_of(connection)
        return list(
            await driver.fetch(
                "SELECT ledger_transfer_id, status, amount FROM balance_transactions"
                " WHERE merchant_id = $1 AND source = $2 AND type = 'adjustment'"
                " ORDER BY currency",
                merchant_id,
                source,
            )
        )


async def _resolve(desk: Desk, merchant_id: str, discrepancy_id: str, action: Action) -> None:
    async with desk.reconciliation.engine_of_discrepancy(discrepancy_id).begin() as connection:
        await desk.reconciliation.resolve(
            connection, merchant_id, discrepancy_id, Resolution(action, f"{action} by a test")
        )
    await desk.reconciliation.runs.refresh_metrics()


async def test_automatic_resolutions_leave_the_settled_day_at_zero(desk: Desk) -> None:
    day = unique_day()
    charges = plan_day(desk.merchants, day, 30, 8, seed=5)
    await desk.writer.write(charges)
    plain = [c for c in charges if not c.refunds]
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "duplicate", "id": plain[0].psp_id},
            {"day": iso, "action": "duplicate", "id": plain[1].psp_id},
            {"day": iso, "action": "fee", "id": plain[2].psp_id, "fee": 0},
        ]
    )

    run = await desk.run(day)

    assert (run.discrepancy_count, run.auto_resolved_count) == (3, 3)
    assert all(d.status is Status.RESOLVED for d in await desk.discrepancies(day))
    receivables = await desk.receivables(day)
    assert {r.merchant_id for r in receivables} == set(desk.merchants)
    assert all(r.ledger_amount == 0 and r.open_residual == 0 for r in receivables), receivables
    assert all(report.ok for report in await desk.integrity())
    rerun = await desk.run(day)
    assert (rerun.discrepancy_count, rerun.auto_resolved_count) == (3, 3)
    assert all(r.ledger_amount == 0 for r in await desk.receivables(day))
    assert dataclasses.replace(rerun, id=run.id, created=0, finished=0) == dataclasses.replace(
        run, created=0, finished=0
    )


async def test_what_a_rerun_no_longer_finds_closes_itself(desk: Desk) -> None:
    """A day run again once its report agrees with paycore (the PSP published the rest of the
    day, or corrected its file: here the faults are lifted) closes the open discrepancies the
    rerun does not find again, with nothing booked. They stayed open and still explained a
    residual that the settlement of their lines had now cleared, so every later run of the day
    failed its day check (InvariantViolation) and stayed RUNNING, for every merchant on the
    shard. One an operator ignored closes too (its residual stood while the difference did);
    what a resolution booked (an operator's write-off, a duplicate's automatic refund) is
    posted back; the settlement of a currency the report no longer carries comes back."""
    day = unique_day()
    charges = plan_day(desk.merchants, day, 24, 0, seed=13)
    await desk.writer.write(charges)
    first, second = desk.merchants
    mine = [c for c in charges if c.merchant_id == first]
    theirs = [c for c in charges if c.merchant_id == second]
    dropped, doubled, written_off = mine[0], mine[1], mine[2]
    changed, ignored = theirs[0], theirs[1]
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": dropped.psp_id},
            {"day": iso, "action": "drop", "id": written_off.psp_id},
            {"day": iso, "action": "duplicate", "id": doubled.psp_id},
            {"day": iso, "action": "amount", "id": changed.psp_id, "amount": changed.amount + 5},
            {"day": iso, "action": "currency", "id": ignored.psp_id, "currency": "eur"},
            {
                "day": iso,
                "action": "unknown_charge",
                "merchant": first,
                "amount": 321,
                "currency": "usd",
            },
        ]
    )
    run = await desk.run(day)
    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    assert sorted(d.kind for d in found) == sorted(
        [
            Kind.MISSING_AT_PSP,
            Kind.MISSING_AT_PSP,
            Kind.DUPLICATE,
            Kind.AMOUNT_MISMATCH,
            Kind.CURRENCY_MISMATCH,
            Kind.MISSING_IN_PAYCORE,
        ]
    )
    (currency,) = [d for d in found if d.kind is Kind.CURRENCY_MISMATCH]
    await resolve(desk, currency, Action.IGNORE)
    (write_off,) = [d for d in found if d.object_id == written_off.intent_id]
    await resolve(desk, write_off, Action.WRITE_OFF)
    (adjusted,) = [d for d in found if d.kind is Kind.AMOUNT_MISMATCH]
    await resolve(desk, adjusted, Action.ADJUST)
    booked = {d.id: len(d.ledger_transfer_ids) for d in await desk.discrepancies(day)}
    (duplicate,) = [d for d in found if d.kind is Kind.DUPLICATE]
    assert {key for key, count in booked.items() if count} == {
        write_off.id,
        adjusted.id,
        duplicate.id,
    }

    await desk.alter_report([])
    again = await desk.run(day)

    assert again.status is RunStatus.SUCCEEDED, again.failure_message
    assert again.discrepancy_count == 0
    after = {d.id: d for d in await desk.discrepancies(day)}
    assert set(after) == {d.id for d in found}
    for discrepancy in found:
        closed = after[discrepancy.id]
        assert closed.status is Status.RESOLVED, closed
        assert closed.action is Action.AUTO, closed
        assert closed.note.startswith("ignored (") == (discrepancy.id == currency.id)
        # What a resolution booked (the operator's write-off and adjustment, the duplicate's
        # automatic refund) is posted back: the difference it settled is gone.
        reversed_ = closed.note.startswith("reversed (")
        assert reversed_ == (booked[discrepancy.id] > 0), closed
        assert len(closed.ledger_transfer_ids) == 2 * booked[discrepancy.id], closed
    receivables = await desk.receivables(day)
    assert all(r.ledger_amount == 0 == r.open_residual for r in receivables), receivables
    assert all(report.ok for report in await desk.integrity())
    rerun = await desk.run(day)
    assert (rerun.status, rerun.discrepancy_count) == (RunStatus.SUCCEEDED, 0)


async def test_each_discrepancy_and_run_records_its_events_on_its_owners_shard(
    desk: Desk,
) -> None:
    """reconciliation.discrepancy.created for each new discrepancy and .resolved for each that
    resolved itself, on its owner's shard (the home shard for a line naming no merchant paycore
    can route: the platform's), and reconciliation.run.completed, the platform's."""
    day = unique_day()
    charges = plan_day(desk.merchants, day, 6, 0, seed=12)
    await desk.writer.write(charges)
    dropped, overcharged = charges[0], charges[1]
    iso = day.isoformat()
    await desk.alter_report(
        [
            {"day": iso, "action": "drop", "id": dropped.psp_id},
            {"day": iso, "action": "fee", "id": overcharged.psp_id, "fee": overcharged.fee + 7},
            {
                "day": iso,
                "action": "unknown_charge",
                "merchant": "nobody",
                "amount": 999,
                "currency": "usd",
            },
        ]
    )

    run = await desk.run(day)

    assert run.status is RunStatus.SUCCEEDED, run.failure_message
    found = await desk.discrepancies(day)
    owners = sorted((d.kind, d.merchant_id) for d in found)
    assert owners == sorted(
        [
            (Kind.MISSING_AT_PSP, dropped.merchant_id),
            (Kind.FEE_MISMATCH, overcharged.merchant_id),
            (Kind.MISSING_IN_PAYCORE, RECONCILIATION_OWNER),
        ]
    )
    events = await _events_of(desk, [run.id, *(d.id for d in found)])
    expected = {(RECONCILIATION_OWNER, "reconciliation.run.completed", run.id)}
    for discrepancy in found:
        owner = discrepancy.merchant_id
        expected.add((owner, "reconciliation.discrepancy.created", discrepancy.id))
        if discrepancy.kind is Kind.FEE_MISMATCH:
            expected.add((owner, "reconciliation.discrepancy.resolved", discrepancy.id))
    assert sorted(events) == sorted(expected)
    shards = desk.platform.shards
    for (owner, kind, _), (engine, event_shard) in events.items():
        home = owner == RECONCILIATION_OWNER  # the platform's: the home shard
        expected_shard = HOME_LOGICAL_SHARD if home else logical_shard_of(owner, Prefix.ACCOUNT)
        assert event_shard == expected_shard, (owner, kind)
        assert engine is shards.engine_for_logical(event_shard), (owner, kind)


async def _events_of(
    desk: Desk, object_ids: list[str]
) -> dict[tuple[str, str, str], tuple[AsyncEngine, int]]:
    """(owner, type, object id) of the events of these objects, each with the database it is
    in and the logical shard its id names."""
    found: dict[tuple[str, str, str], tuple[AsyncEngine, int]] = {}
    for engine in desk.platform.shards.engines:
        async with engine.connect() as connection:
            driver = await driver_of(connection)
            rows = await driver.fetch(
                "SELECT merchant_id, type, object_id, id FROM events WHERE object_id = ANY($1)",
                object_ids,
            )
        for row in rows:
            key = (row["merchant_id"], row["type"], row["object_id"])
            assert key not in found, key
            found[key] = (engine, logical_shard_of(row["id"], Prefix.EVENT))
    return found
