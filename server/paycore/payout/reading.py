"""Pay-out's reads (Get and List), through the one read path (paycore.storage.reads)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.account.repository import SELLER_ACCOUNTS
from paycore.errors import invalid, not_found
from paycore.ids import Prefix
from paycore.payout.models import (
    BalanceFilter,
    BalanceTransaction,
    BankAccount,
    Payout,
    PayoutCard,
    PayoutFilter,
    Transfer,
    TransferFilter,
    TransferReversal,
)
from paycore.payout.repository import (
    BALANCE_TRANSACTIONS,
    BANK_ACCOUNTS,
    PAYOUT_CARDS,
    PAYOUTS,
    TRANSFER_REVERSALS,
    TRANSFERS,
    balance_transactions_query,
    bank_accounts_query,
    payout_cards_query,
    payouts_query,
    transfer_reversals_query,
    transfers_query,
)
from paycore.storage.reads import Cursor, Named, Page, Reads

CARD_PREFIX = Prefix.PAYMENT_METHOD.value + "_"
EXTERNAL_ACCOUNTS_READ = 100
"""At most this many of each kind (bank accounts, payout cards) of a seller are read to list
its external accounts: a seller has a few."""
ExternalAccount = BankAccount | PayoutCard


@dataclass(frozen=True, slots=True)
class PayoutReads:
    _reads: Reads

    async def bank_account(self, merchant_id: str, bank_account_id: str) -> BankAccount:
        return await self._reads.one(merchant_id, BANK_ACCOUNTS, bank_account_id)

    async def bank_accounts(
        self, merchant_id: str, cursor: Cursor, account: str
    ) -> Page[BankAccount]:
        query = bank_accounts_query(merchant_id, account)
        named = [_seller("account", account)]
        return await self._reads.page(merchant_id, BANK_ACCOUNTS, cursor, query, named)

    async def payout_card(self, merchant_id: str, payment_method_id: str) -> PayoutCard:
        return await self._reads.one(merchant_id, PAYOUT_CARDS, payment_method_id)

    async def payout_cards(
        self, merchant_id: str, cursor: Cursor, account: str
    ) -> Page[PayoutCard]:
        query = payout_cards_query(merchant_id, account)
        named = [_seller("account", account)]
        return await self._reads.page(merchant_id, PAYOUT_CARDS, cursor, query, named)

    async def external_accounts(
        self, merchant_id: str, seller: str, cursor: Cursor, kind: str
    ) -> Page[ExternalAccount]:
        """Stripe's external accounts of the seller (NOT_FOUND naming `id` unless it is the
        merchant's): its bank accounts and payout cards (`kind`: "bank_account" or "card"
        alone), newest first, paged by the ids of the merged list (a cursor not in it is
        NOT_FOUND naming the cursor's param)."""
        await self._reads.one(merchant_id, SELLER_ACCOUNTS, seller)
        everything = Cursor(limit=EXTERNAL_ACCOUNTS_READ, created=cursor.created)
        found: list[ExternalAccount] = []
        if kind != "card":
            found += (await self.bank_accounts(merchant_id, everything, seller)).data
        if kind != "bank_account":
            found += (await self.payout_cards(merchant_id, everything, seller)).data
        # newest first by the ids' bodies: time-ordered across kinds (ba_ and pm_), as every
        # List pages by id
        found.sort(key=lambda item: item.id.partition("_")[2], reverse=True)
        ids = [item.id for item in found]
        for param, position in (
            ("starting_after", cursor.starting_after),
            ("ending_before", cursor.ending_before),
        ):
            if position and position not in ids:
                raise not_found("external_account", position, param)
        if cursor.ending_before:
            newer = found[: ids.index(cursor.ending_before)]
            return Page(newer[-cursor.limit :], len(newer) > cursor.limit)
        if cursor.starting_after:
            found = found[ids.index(cursor.starting_after) + 1 :]
        return Page(found[: cursor.limit], len(found) > cursor.limit)

    async def payout(self, merchant_id: str, payout_id: str) -> Payout:
        return await self._reads.one(merchant_id, PAYOUTS, payout_id)

    async def payouts(self, merchant_id: str, cursor: Cursor, wanted: PayoutFilter) -> Page[Payout]:
        query = payouts_query(merchant_id, wanted)
        # A destination is a bank account or a payout card, as CreatePayout's.
        kind = PAYOUT_CARDS if wanted.destination.startswith(CARD_PREFIX) else BANK_ACCOUNTS
        named = [_seller("account", wanted.account), Named("destination", kind, wanted.destination)]
        return await self._reads.page(merchant_id, PAYOUTS, cursor, query, named)

    async def balance_transaction(
        self, merchant_id: str, transaction_id: str
    ) -> BalanceTransaction:
        return await self._reads.one(merchant_id, BALANCE_TRANSACTIONS, transaction_id)

    async def balance_transactions(
        self, merchant_id: str, wanted: BalanceFilter, cursor: Cursor
    ) -> Page[BalanceTransaction]:
        query = balance_transactions_query(merchant_id, wanted)
        if wanted.payout_id:
            # Stripe's filter is for automatic payouts only: a manual payout's rows are not
            # known (reconciliation_status not_applicable), and it listed an empty page.
            payout = await self._reads.one(merchant_id, PAYOUTS, wanted.payout_id, "payout")
            if not payout.automatic:
                raise invalid(
                    "payout",
                    f"balance transactions can only be filtered on automatic payouts;"
                    f" {payout.id} is a manual payout (source={payout.id} lists its own)",
                )
        named = [Named("payout", PAYOUTS, wanted.payout_id)]
        return await self._reads.page(merchant_id, BALANCE_TRANSACTIONS, cursor, query, named)

    async def transfer(self, merchant_id: str, transfer_id: str) -> Transfer:
        return await self._reads.one(merchant_id, TRANSFERS, transfer_id)

    async def transfers(
        self, merchant_id: str, cursor: Cursor, wanted: TransferFilter
    ) -> Page[Transfer]:
        query = transfers_query(merchant_id, wanted)
        named = [_seller("destination", wanted.destination)]
        return await self._reads.page(merchant_id, TRANSFERS, cursor, query, named)

    async def transfer_reversals(
        self, merchant_id: str, cursor: Cursor, transfer_id: str
    ) -> Page[TransferReversal]:
        """The transfer's reversals; NOT_FOUND (param id) when it is not the merchant's."""
        query = transfer_reversals_query(merchant_id, transfer_id)
        named = [Named("id", TRANSFERS, transfer_id)]
        return await self._reads.page(merchant_id, TRANSFER_REVERSALS, cursor, query, named)

    async def transfer_reversal(
        self, merchant_id: str, transfer_id: str, reversal_id: str
    ) -> TransferReversal:
        """One reversal of the transfer: NOT_FOUND naming `id` when the transfer is not the
        merchant's, `reversal` when the reversal is not that transfer's."""
        transfer = await self._reads.one(merchant_id, TRANSFERS, transfer_id)
        for reversal in transfer.reversals:
            if reversal.id == reversal_id:
                return reversal
        raise not_found("transfer_reversal", reversal_id, "reversal")


def _seller(param: str, account: str) -> Named:
    """A filter naming a seller: "" (the merchant's own, or none) names nothing; another
    merchant's seller is missing, so a list never answers for it."""
    return Named(param, SELLER_ACCOUNTS, account)
