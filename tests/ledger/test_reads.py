"""Ledger and wallet reads use the autocommit readers (one round trip a statement, no
BEGIN/ROLLBACK): only a lazy expiry that finds overdue holds opens a transaction."""

from __future__ import annotations

import pytest
from paycore.app import Platform
from paycore.client import Paycore
from paycore.storage.reads import Cursor
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture
from tests.ledger.support import ASSET, account, post, transfer_id


async def test_reads_take_no_transaction_connection(
    platform: Platform,
    admin: Paycore,
    merchant: MerchantFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    merchant_id = merchant.merchant.id
    source = await account(admin, merchant_id, "reads_cash", kind=ASSET)
    target = await account(admin, merchant_id, "reads_balance")
    moved = ledger_pb2.LedgerTransfer(
        id=transfer_id(merchant_id),
        debit_account=source,
        credit_account=target,
        amount=300,
        currency="usd",
        code="reads",
    )
    held = ledger_pb2.LedgerTransfer(
        id=transfer_id(merchant_id),
        debit_account=source,
        credit_account=target,
        amount=50,
        currency="usd",
        code="reads",
        pending=True,
        timeout_seconds=3600,  # not overdue: nothing for a read to expire
    )
    assert await post(admin, moved, held) == ["CREATED", "CREATED"]

    class TransactionEngine:
        """Stands in for a shard's pooled engine; the readers were made from the real ones."""

        def connect(self) -> None:
            raise AssertionError("a read took a connection outside the readers")

        def begin(self) -> None:
            raise AssertionError("a read began a transaction")

    monkeypatch.setattr(
        platform.shards, "engines", tuple(TransactionEngine() for _ in platform.shards.engines)
    )
    ledger = platform.ledger
    found = await ledger.get_account(merchant_id, target)
    assert (found.balances.credits_posted, found.balances.credits_pending) == (300, 50)
    assert (await ledger.get_transfer(merchant_id, moved.id)).amount == 300
    entries = await ledger.list_entries(merchant_id, target, Cursor(10))
    assert ([entry.amount for entry in entries.data], entries.has_more) == ([50, 300], False)
    listed = await ledger.list_accounts(merchant_id, "reads_cash", "", Cursor(10))
    assert [listed_account.id for listed_account in listed.data] == [source]
    everyone = await ledger.list_accounts("", "reads_cash", "usd", Cursor(100))
    assert source in {listed_account.id for listed_account in everyone.data}
    balance = await platform.wallet.get_balance(merchant_id, "")
    # No wallet account moved yet: the default currency at 0, as Stripe's new account.
    assert balance.available == {"usd": 0} and balance.pending == {"usd": 0}
