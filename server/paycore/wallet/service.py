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
from paycore.storage.pagination import newest_first, page
from paycore.storage.schema import ledger_transfers
from sqlalchemy import func, select


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
        self,
        merchant_id: str,
        seller_account: str,
        limit: int,
        starting_after: str,
        type_filter: str,
        currency: str,
        source: str,
        only_id: str = "",
    ) -> tuple[list[BalanceTransaction], bool]:
        await self._check_seller(merchant_id, seller_account)
        async with self._shards.read(merchant_id) as connection:
            accounts = await AccountRepository(connection).of_merchant(
                merchant_id, _balance_codes(seller_account)
            )
            balance_ids = {account.id: account.code for account in accounts}
            if not balance_ids:
                return [], False
            t = ledger_transfers
            touches = t.c.debit_account_id.in_(balance_ids) | t.c.credit_account_id.in_(balance_ids)
            wanted = [
                code for code, name in TYPES.items() if not type_filter or name == type_filter
            ]
            query = select(t).where(
                t.c.merchant_id == merchant_id,
                t.c.status == "posted",
                t.c.kind.in_(["posted", "post_pending"]),
                t.c.code.in_(wanted),
                touches,
            )
            if currency:
                query = query.where(t.c.currency == currency)
            if source:
                query = query.where(t.c.metadata["source"].astext == source)
            if only_id:
                query = query.where(t.c.id == "lt_" + only_id.removeprefix("txn_"))
            cursor = "lt_" + starting_after.removeprefix("txn_") if starting_after else ""
            found = (await connection.execute(newest_first(query, t.c.id, limit, cursor))).all()
            sources = {row.metadata.get("source") for row in found} - {None}
            fees = await self._fees(connection, merchant_id, sources)
        kept, has_more = page(found, limit)
        return [_transaction(row, balance_ids, fees) for row in kept], has_more

    async def get_transaction(self, merchant_id: str, transaction_id: str) -> BalanceTransaction:
        found, _ = await self.list_transactions(
            merchant_id, "", 1, "", "", "", "", only_id=transaction_id
        )
        if not found:
            raise not_found("balance_transaction", transaction_id)
        return found[0]

    async def _fees(self, connection: Any, merchant_id: str, sources: set[str]) -> dict[str, int]:
        if not sources:
            return {}
        t = ledger_transfers
        source = t.c.metadata["source"].astext
        rows = await connection.execute(
            select(source, func.sum(t.c.amount))
            .where(
                t.c.merchant_id == merchant_id,
                t.c.code == codes.TRANSFER_FEE,
                t.c.status == "posted",
                source.in_(sources),
            )
            .group_by(source)
        )
        return {row[0]: int(row[1]) for row in rows.all()}

    async def _check_seller(self, merchant_id: str, seller_account: str) -> None:
        if not seller_account:
            return
        async with self._shards.read(merchant_id) as connection:
            seller = await SellerAccountRepository(connection).get(merchant_id, seller_account)
        if seller is None:
            raise not_found("account", seller_account, param="account")


def _transaction(row: Any, balance_ids: dict[str, str], fees: dict[str, int]) -> BalanceTransaction:
    credited = row.credit_account_id in balance_ids
    balance_code = balance_ids[row.credit_account_id if credited else row.debit_account_id]
    source = row.metadata.get("source", "")
    return BalanceTransaction(
        id="txn_" + row.id.removeprefix("lt_"),
        amount=row.amount if credited else -row.amount,
        currency=row.currency,
        fee=fees.get(source, 0) if source and row.code == codes.TRANSFER_PAYMENT else 0,
        type=TYPES[row.code],
        available=balance_code == codes.BALANCE_AVAILABLE.code,
        source=source,
        description=row.metadata.get("description", ""),
        created=int(row.created_at.timestamp()),
    )
