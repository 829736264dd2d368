"""Pay-out's reads (Get and List), through the one read path (paycore.storage.reads)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.payout.models import (
    BalanceFilter,
    BalanceTransaction,
    BankAccount,
    Payout,
    PayoutFilter,
)
from paycore.payout.repository import (
    balance_transaction_query,
    balance_transactions_query,
    bank_account_query,
    bank_accounts_query,
    decode_balance_transaction,
    decode_bank_account,
    decode_payout,
    payout_query,
    payouts_query,
)
from paycore.storage.reads import Cursor, Page, Reads
from paycore.storage.schema import balance_transactions, bank_accounts, payouts


@dataclass(frozen=True, slots=True)
class PayoutReads:
    _reads: Reads

    async def bank_account(self, merchant_id: str, bank_account_id: str) -> BankAccount:
        return await self._reads.one(
            merchant_id,
            bank_account_query(merchant_id, bank_account_id),
            decode_bank_account,
            "bank_account",
            bank_account_id,
        )

    async def bank_accounts(
        self, merchant_id: str, account: str, cursor: Cursor
    ) -> Page[BankAccount]:
        return await self._reads.page(
            merchant_id,
            bank_accounts_query(merchant_id, account),
            bank_accounts.c.id,
            cursor,
            decode_bank_account,
        )

    async def payout(self, merchant_id: str, payout_id: str) -> Payout:
        return await self._reads.one(
            merchant_id, payout_query(merchant_id, payout_id), decode_payout, "payout", payout_id
        )

    async def payouts(self, merchant_id: str, wanted: PayoutFilter, cursor: Cursor) -> Page[Payout]:
        return await self._reads.page(
            merchant_id, payouts_query(merchant_id, wanted), payouts.c.id, cursor, decode_payout
        )

    async def balance_transaction(
        self, merchant_id: str, transaction_id: str
    ) -> BalanceTransaction:
        return await self._reads.one(
            merchant_id,
            balance_transaction_query(merchant_id, transaction_id),
            decode_balance_transaction,
            "balance_transaction",
            transaction_id,
        )

    async def balance_transactions(
        self, merchant_id: str, wanted: BalanceFilter, cursor: Cursor
    ) -> Page[BalanceTransaction]:
        return await self._reads.page(
            merchant_id,
            balance_transactions_query(merchant_id, wanted),
            balance_transactions.c.id,
            cursor,
            decode_balance_transaction,
        )
