"""The wallet: a view over the merchant's ledger accounts (paycore.ledger.codes), never a
second copy of the money.

- available (per currency): balance_available's credits posted - debits posted - debits held
  (a payout in progress holds its amount, so it cannot be spent twice).
- pending (per currency): balance_pending's credits posted - debits posted.
- A balance transaction is one posted ledger transfer into or out of balance_pending or
  balance_available, except internal moves between the two (`availability`); its fee is the
  sum of the `fee` transfers with the same `source` metadata. Its id is the transfer's, with
  the txn_ prefix, so it routes to the same shard.
- A marketplace seller's wallet (`account=acct_...`) reads the seller's own balance accounts,
  which the merchant keeps (paycore.ledger.codes.for_seller).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paycore.account.repository import SellerAccountRepository
from paycore.errors import not_found
from paycore.ledger import codes
from paycore.ledger.repository import AccountRepository
from paycore.ledger.service import LedgerService
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page, fetch_page
from paycore.wallet.repository import (
    TRANSFER_ID,
    fees_by_source,
    transaction_id_of,
    transfer_id_of,
    transfers_query,
)
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection


def _balance_codes(seller_account: str) -> list[str]:
    """[pending, available]: the merchant's own, or (a seller's) codes.for_seller's."""
    specs = codes.seller_accounts(seller_account) if seller_account else codes.BALANCE_ACCOUNTS
    return [spec.code for spec in specs]


TYPES = {
    codes.TRANSFER_PAYMENT: "payment",
    codes.TRANSFER_REFUND: "refund",
    codes.TRANSFER_APPLICATION_FEE: "application_fee",
    codes.TRANSFER_TRANSFER: "transfer",
    codes.TRANSFER_PAYOUT: "payout",
    codes.TRANSFER_PAYOUT_CANCEL: "payout_cancel",
    codes.TRANSFER_PAYOUT_FAILURE: "payout_failure",
    codes.TRANSFER_ADJUSTMENT: "adjustment",
}


@dataclass(frozen=True)
class Balance:
    available: dict[str, int]
    pending: dict[str, int]


@dataclass(frozen=True)
class TransactionFilters:
    """Which balance transactions a list shows ("" for any)."""

    seller_account: str = ""
    type: str = ""
    currency: str = ""
    source: str = ""
    only_id: str = ""


@dataclass(frozen=True)
class BalanceTransaction:
    id: str
    amount: int
    currency: str
    fee: int
    type: str
    available: bool
    source: str
    description: str
    created: int

    @property
    def net(self) -> int:
        return self.amount - self.fee


class WalletService:
    def __init__(self, shards: Shards, ledger: LedgerService) -> None:
        self._shards = shards
        self._ledger = ledger

    async def get_balance(self, merchant_id: str, seller_account: str) -> Balance:
        await self._check_seller(merchant_id, seller_account)
        balance_codes = _balance_codes(seller_account)
        async with self._shards.read(merchant_id) as connection:
            accounts = await AccountRepository(connection).of_merchant(merchant_id, balance_codes)
        if await self._ledger.expire_for_accounts([account.id for account in accounts]):
            async with self._shards.read(merchant_id) as connection:
                accounts = await AccountRepository(connection).of_merchant(
                    merchant_id, balance_codes
                )
        available: dict[str, int] = {}
        pending: dict[str, int] = {}
        for account in accounts:
            balances = account.balances
            posted = balances.credits_posted - balances.debits_posted
            if account.code == balance_codes[1]:
                available[account.currency] = posted - balances.debits_pending
            else:
                pending[account.currency] = posted
        for currency in available.keys() | pending.keys():
            available.setdefault(currency, 0)
            pending.setdefault(currency, 0)
        return Balance(available, pending)

    async def list_transactions(
        self, merchant_id: str, filters: TransactionFilters, cursor: Cursor
    ) -> Page[BalanceTransaction]:
        await self._check_seller(merchant_id, filters.seller_account)
        async with self._shards.read(merchant_id) as connection:
            return await self._transactions(connection, merchant_id, filters, cursor)

    async def get_transaction(self, merchant_id: str, transaction_id: str) -> BalanceTransaction:
        filters = TransactionFilters(only_id=transaction_id)
        async with self._shards.read(merchant_id) as connection:
            found = await self._transactions(connection, merchant_id, filters, Cursor(1))
        if not found.data:
            raise not_found("balance_transaction", transaction_id)
        return found.data[0]

    async def _transactions(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        filters: TransactionFilters,
        cursor: Cursor,
    ) -> Page[BalanceTransaction]:
        accounts = await AccountRepository(connection).of_merchant(
            merchant_id, _balance_codes(filters.seller_account)
        )
        balance_ids = {account.id: account.code for account in accounts}
        if not balance_ids:
            return Page([], has_more=False)
        wanted = [code for code, name in TYPES.items() if filters.type in ("", name)]
        query = transfers_query(
            merchant_id,
            balance_ids,
            wanted,
            filters.currency,
            filters.source,
            transfer_id_of(filters.only_id) if filters.only_id else "",
        )
        transfers_cursor = Cursor(
            cursor.limit,
            transfer_id_of(cursor.starting_after) if cursor.starting_after else "",
        )
        found = await fetch_page(connection, query, TRANSFER_ID, transfers_cursor, _row)
        sources = {row.metadata.get("source") for row in found.data} - {None}
        fees = await fees_by_source(connection, merchant_id, sources)
        return Page([_transaction(row, balance_ids, fees) for row in found.data], found.has_more)

    async def _check_seller(self, merchant_id: str, seller_account: str) -> None:
        if not seller_account:
            return
        async with self._shards.read(merchant_id) as connection:
            seller = await SellerAccountRepository(connection).get(merchant_id, seller_account)
        if seller is None:
            raise not_found("account", seller_account, param="account")


def _row(row: Row[Any]) -> Row[Any]:
    return row


def _transaction(row: Any, balance_ids: dict[str, str], fees: dict[str, int]) -> BalanceTransaction:
    credited = row.credit_account_id in balance_ids
    balance_code = balance_ids[row.credit_account_id if credited else row.debit_account_id]
    source = row.metadata.get("source", "")
    return BalanceTransaction(
        id=transaction_id_of(row.id),
        amount=row.amount if credited else -row.amount,
        currency=row.currency,
        fee=fees.get(source, 0) if source and row.code == codes.TRANSFER_PAYMENT else 0,
        type=TYPES[row.code],
        available=balance_code == codes.BALANCE_AVAILABLE.code,
        source=source,
        description=row.metadata.get("description", ""),
        created=int(row.created_at.timestamp()),
    )
