"""`ending_before` on the ledger's lists: entries paged by the account's sequence and accounts
merged over the shards, each the page just newer than the cursor, newest first."""

from __future__ import annotations

from paycore.client import Paycore
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture
from tests.ledger.support import ASSET, account, post, transfer_id


async def test_entries_and_accounts_ending_before(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    source = await account(admin, merchant_id, "cash_usd", "usd", kind=ASSET)
    target = await account(admin, merchant_id, "balance_usd", "usd")
    for amount in (100, 200, 300, 400):
        moved = ledger_pb2.LedgerTransfer(
            id=transfer_id(merchant_id),
            debit_account=source,
            credit_account=target,
            amount=amount,
            currency="usd",
            code="payment",
        )
        assert await post(admin, moved) == ["CREATED"]
    every = await admin.ledger.ListEntries(ledger_pb2.ListEntriesRequest(account=target))
    ids = [entry.id for entry in every.data]
    assert [entry.amount for entry in every.data] == [400, 300, 200, 100]
    newer = await admin.ledger.ListEntries(
        ledger_pb2.ListEntriesRequest(account=target, ending_before=ids[3], limit=2)
    )
    assert ([entry.id for entry in newer.data], newer.has_more) == (ids[1:3], True)
    newest = await admin.ledger.ListEntries(
        ledger_pb2.ListEntriesRequest(account=target, ending_before=ids[1], limit=2)
    )
    assert ([entry.id for entry in newest.data], newest.has_more) == (ids[:1], False)

    accounts = await admin.ledger.ListAccounts(
        ledger_pb2.ListAccountsRequest(merchant=merchant_id, limit=100)
    )
    listed = [each.id for each in accounts.data]
    assert source in listed and target in listed
    before = await admin.ledger.ListAccounts(
        ledger_pb2.ListAccountsRequest(merchant=merchant_id, ending_before=listed[-1], limit=1)
    )
    assert ([each.id for each in before.data], before.has_more) == (
        listed[-2:-1],
        len(listed) > 2,
    )
