"""The coalescer's workers, started by the first PostTransfers of a shard, post every later
caller's transfers."""

from __future__ import annotations

import gc

from paycore.app import Platform
from paycore.client import Paycore
from paycore.ledger.coalescer import Coalescer
from paycore.ledger.models import Outcome, TransferRequest, TransferResult

from tests.helpers import MerchantFixture, as_a_call, merchant_call
from tests.ledger.support import ASSET, account, transfer_id


async def test_a_worker_keeps_nothing_of_the_call_that_started_it(
    platform: Platform, admin: Paycore, merchant: MerchantFixture
) -> None:
    """A worker lives as long as the process: it must not run as the call that happened to
    start it, nor keep that call (its caller, its metadata) alive."""
    merchant_id = merchant.merchant.id
    source = await account(admin, merchant_id, "cash", kind=ASSET)
    target = await account(admin, merchant_id, "owed")
    coalescer = Coalescer(platform.ledger)
    transfer = TransferRequest(
        id=transfer_id(merchant_id),
        debit_account_id=source,
        credit_account_id=target,
        amount=100,
        currency="usd",
        code="test",
    )
    outcomes: list[Outcome] = []

    async def posting() -> None:
        outcomes.extend(await coalescer.post(merchant_id, [transfer]))

    try:
        call = await as_a_call(merchant_call(merchant_id), posting)
        gc.collect()
        assert call() is None
    finally:
        await coalescer.close()
    assert [outcome.result for outcome in outcomes] == [TransferResult.CREATED]
