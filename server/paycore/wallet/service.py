"""The wallet: a view over the merchant's ledger accounts (paycore.ledger.codes), never a
second copy of the money.

- available (per currency): balance_available's credits posted - debits posted - debits held
  (a payout in progress holds its amount, so it cannot be spent twice).
- pending (per currency): balance_pending's credits posted - debits posted.
- A currency the balance does not settle in (paycore.currency.models.Settlement) is listed only
  while it holds money: an authorization's hold in the charge's currency leaves that currency's
  accounts behind, empty, when its capture is converted into a settlement currency.
- A balance transaction is a row pay-out's balance book writes beside each ledger transfer
  that credits or debits a balance (paycore.payout.balances): pending until available_on,
  then available; an automatic payout names the rows it paid out (`payout`). A balance read
  first settles what has come due (paycore.payout.availability's `settle`), so it never shows
  pending what the availability job would make available on its next run.
- A balance in which nothing has moved yet shows the payee's default currency at 0 (the first
  of its settlement currencies, else its default_currency), as Stripe's new account does.
- instant_available (per currency): the largest instant payout the balance pays with its fee
  (paycore.payout.payouts' `instant_available`, the rule CreatePayout checks), Stripe's field.
- A marketplace seller's wallet (`account=acct_...`) reads the seller's own balance accounts,
  which the merchant keeps (paycore.ledger.codes.for_seller).
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.account.repository import MerchantRepository, SellerAccountRepository
from paycore.currency.repository import settlement
from paycore.errors import not_found
from paycore.ledger import codes
from paycore.ledger.repository import AccountRepository
from paycore.ledger.service import LedgerService
from paycore.payout.availability import Availability
from paycore.payout.models import BalanceFilter, BalanceTransaction
from paycore.payout.payouts import Payouts
from paycore.payout.reading import PayoutReads
from paycore.storage import Shards
from paycore.storage.reads import Cursor, Page


def _balance_codes(seller_account: str) -> list[str]:
    """[pending, available]: the merchant's own, or (a seller's) codes.for_seller's."""
    specs = codes.seller_accounts(seller_account) if seller_account else codes.BALANCE_ACCOUNTS
    return [spec.code for spec in specs]


@dataclass(frozen=True)
class Balance:
    available: dict[str, int]
    pending: dict[str, int]
    instant_available: dict[str, int]


class WalletService:
    def __init__(
        self,
        shards: Shards,
        ledger: LedgerService,
        balance_reads: PayoutReads,
        availability: Availability,
        payouts: Payouts,
    ) -> None:
        self._shards = shards
        self._ledger = ledger
        self._balance_reads = balance_reads
        self._availability = availability
        self._payouts = payouts

    async def get_balance(self, merchant_id: str, seller_account: str) -> Balance:
        await self._check_seller(merchant_id, seller_account)
        balance_codes = _balance_codes(seller_account)
        async with self._shards.read(merchant_id) as connection:
            due = await self._availability.any_due(connection, merchant_id)
            accounts = await AccountRepository(connection).of_merchant(merchant_id, balance_codes)
            settles_in = (await settlement(connection, merchant_id, seller_account)).currencies
        if due:  # what the availability job would move on its next run, moved now
            async with self._shards.transaction(merchant_id) as connection:
                await self._availability.settle(connection, merchant_id)
        expired = await self._ledger.expire_for_accounts([account.id for account in accounts])
        if due or expired:
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
        shown = [
            currency
            for currency in available.keys() | pending.keys()
            # No settlement currency: every charge stays in its own, each is one.
            if not settles_in
            or currency in settles_in
            or available.get(currency)
            or pending.get(currency)
        ]
        if not shown:  # nothing moved yet: Stripe's balance holds the default currency at 0
            shown = list(settles_in[:1]) or await self._default_currency(
                merchant_id, seller_account
            )
        return Balance(
            {currency: available.get(currency, 0) for currency in shown},
            {currency: pending.get(currency, 0) for currency in shown},
            {
                currency: self._payouts.instant_available(
                    available.get(currency, 0), pending.get(currency, 0), currency
                )
                for currency in shown
            },
        )

    async def _default_currency(self, merchant_id: str, seller_account: str) -> list[str]:
        """The payee's default currency, as the one entry of a balance that never moved."""
        async with self._shards.read(merchant_id) as connection:
            payee = await (
                SellerAccountRepository(connection).get(merchant_id, seller_account)
                if seller_account
                else MerchantRepository(connection).get(merchant_id)
            )
        return [payee.default_currency] if payee is not None and payee.default_currency else []

    async def list_transactions(
        self, merchant_id: str, wanted: BalanceFilter, cursor: Cursor
    ) -> Page[BalanceTransaction]:
        await self._check_seller(merchant_id, wanted.account)
        return await self._balance_reads.balance_transactions(merchant_id, wanted, cursor)

    async def get_transaction(self, merchant_id: str, transaction_id: str) -> BalanceTransaction:
        return await self._balance_reads.balance_transaction(merchant_id, transaction_id)

    async def _check_seller(self, merchant_id: str, seller_account: str) -> None:
        if not seller_account:
            return
        async with self._shards.read(merchant_id) as connection:
            seller = await SellerAccountRepository(connection).get(merchant_id, seller_account)
        if seller is None:
            raise not_found("account", seller_account, param="account")
