"""WalletService end to end: balances read from the ledger."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.app import Platform
from paycore.client import Paycore
from paycore.v1 import account_pb2, ledger_pb2, wallet_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.ledger.support import post, transfer_id

T = ledger_pb2.LedgerTransfer


async def test_balance_and_transactions_come_from_the_ledger(
    platform: Platform, admin: Paycore, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    merchant_id = merchant.merchant.id
    empty = await merchant.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())
    zero = [("usd", 0)]  # nothing moved: the default currency at 0, as Stripe's new account
    assert [(money.currency, money.amount) for money in empty.available] == zero
    assert [(money.currency, money.amount) for money in empty.pending] == zero
    async with platform.shards.transaction(merchant_id) as connection:
        accounts = await platform.ledger.merchant_accounts(connection, merchant_id, "usd")
    ids = {code: account.id for code, account in accounts.items()}

    def move(debit: str, credit: str, amount: int, code: str, pending: bool = False) -> T:
        return T(
            id=transfer_id(merchant_id),
            debit_account=ids[debit],
            credit_account=ids[credit],
            amount=amount,
            currency="usd",
            code=code,
            metadata={"source": "pi_123"},
            pending=pending,
        )

    assert await post(
        admin,
        move("psp_receivable", "balance_pending", 1000, "payment"),
        move("balance_pending", "fees_revenue", 30, "fee"),
        move("balance_pending", "balance_available", 970, "availability"),
        move("balance_available", "payouts_in_transit", 200, "payout", pending=True),
        move("balance_available", "payouts_in_transit", 2000, "payout"),
    ) == ["CREATED", "CREATED", "CREATED", "CREATED", "EXCEEDS_CREDITS"]
    balance = await merchant.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())
    assert [(money.currency, money.amount) for money in balance.available] == [("usd", 770)]
    assert [(money.currency, money.amount) for money in balance.pending] == [("usd", 0)]
    # Balance transactions are rows the money-moving services write beside their transfers
    # (paycore.payout.balances; tests/payout): transfers posted straight to the ledger have none.
    listed = await merchant.client.wallet.ListBalanceTransactions(
        wallet_pb2.ListBalanceTransactionsRequest()
    )
    assert list(listed.data) == []
    theirs = await other_merchant.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest())
    # Nothing moved: the default currency at 0 (Stripe's balance of a new account).
    assert [(money.currency, money.amount) for money in theirs.available] == [("usd", 0)]
    seller = await merchant.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="s@shop.test", country="US", default_currency="usd"
        )
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await other_merchant.client.wallet.GetBalance(
            wallet_pb2.GetBalanceRequest(account=seller.id)
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # RESOURCE_MISSING `account`
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.wallet.ListBalanceTransactions(
            wallet_pb2.ListBalanceTransactionsRequest(limit=1000)
        )
    error = rich_error(raised.value)
    assert (error.code, error.param) == (grpc.StatusCode.INVALID_ARGUMENT, "limit")
    report = await admin.ledger.CheckIntegrity(
        ledger_pb2.CheckIntegrityRequest(merchant=merchant_id)
    )
    assert report.ok, report.mismatches
