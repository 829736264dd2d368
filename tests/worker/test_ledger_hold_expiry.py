"""The ledger_hold_expiry job voids overdue holds on its shard: balances restored, integrity
clean."""

from __future__ import annotations

import asyncio
import time

from paycore.app import Platform
from paycore.client import Paycore
from paycore.ledger.service import LedgerService
from paycore.v1 import ledger_pb2
from paycore.worker.jobs import ledger_hold_expiry

from tests.helpers import MerchantFixture
from tests.ledger.support import ASSET, account, balances, integrity_ok, post, transfer_id

HOLD_SECONDS = 3600


def _hold(merchant_id: str, debit: str, credit: str, amount: int) -> ledger_pb2.LedgerTransfer:
    return ledger_pb2.LedgerTransfer(
        id=transfer_id(merchant_id),
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        currency="usd",
        pending=True,
        timeout_seconds=HOLD_SECONDS,
        code="authorization",
    )


async def test_an_overdue_hold_is_voided_by_the_job(
    platform: Platform, admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    receivable = await account(admin, merchant_id, "psp_receivable", kind=ASSET)
    pending = await account(admin, merchant_id, "balance_pending")
    hold = _hold(merchant_id, receivable, pending, 2500)
    assert await post(admin, hold) == ["CREATED"]
    assert await balances(admin, pending) == (0, 0, 0, 2500)

    engine = platform.shards.engine_for_merchant(merchant_id)
    # Not yet due: the job on the real clock leaves this hold alone (it may expire others').
    await ledger_hold_expiry(platform.ledger).run(engine)
    assert await balances(admin, pending) == (0, 0, 0, 2500)

    # The same job two hours later (a ledger whose clock has moved on).
    later = LedgerService(platform.shards, lambda: time.time() + 2 * HOLD_SECONDS)
    assert await ledger_hold_expiry(later).run(engine) >= 1
    assert await balances(admin, pending) == (0, 0, 0, 0)
    assert await balances(admin, receivable) == (0, 0, 0, 0)
    expired = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=hold.id))
    assert expired.status == ledger_pb2.LEDGER_TRANSFER_STATUS_EXPIRED
    await integrity_ok(admin, merchant_id)


async def test_two_workers_expire_the_same_holds_once(
    platform: Platform, admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    receivable = await account(admin, merchant_id, "psp_receivable", kind=ASSET)
    pending = await account(admin, merchant_id, "balance_pending")
    holds = [_hold(merchant_id, receivable, pending, 100 * (index + 1)) for index in range(6)]
    assert await post(admin, *holds) == ["CREATED"] * 6
    assert await balances(admin, pending) == (0, 0, 0, 2100)

    engine = platform.shards.engine_for_merchant(merchant_id)
    later = LedgerService(platform.shards, lambda: time.time() + 2 * HOLD_SECONDS)
    first, second = ledger_hold_expiry(later, batch_size=4), ledger_hold_expiry(later, batch_size=4)
    while any(await asyncio.gather(first.run(engine), second.run(engine))):
        pass

    assert await balances(admin, pending) == (0, 0, 0, 0)
    assert await balances(admin, receivable) == (0, 0, 0, 0)
    for hold in holds:
        found = await admin.ledger.GetTransfer(ledger_pb2.GetTransferRequest(id=hold.id))
        assert found.status == ledger_pb2.LEDGER_TRANSFER_STATUS_EXPIRED
    entries = await admin.ledger.ListEntries(
        ledger_pb2.ListEntriesRequest(account=pending, limit=100)
    )
    assert len(entries.data) == 12  # a hold and its expiry each, never a second expiry
    await integrity_ok(admin, merchant_id)
