"""The balance book: every credit or debit of a merchant's (or a seller's) balance is a ledger
transfer and a balance transaction row, written together in the caller's transaction.

    payment          psp_receivable -> balance_pending   (and its fee, balance_pending ->
                     fees_revenue): one row, amount, fee and net, pending until available_on
    transfer         merchant's balance_pending -> the seller's: a row on each side
    refund           from balance_available as far as it goes, the rest from balance_pending
                     (which may go negative, as at Stripe): a row per part
    move             one balance to another's balance_pending as a refund takes it: a
                     destination charge's transfer reversal (seller -> merchant) and
                     application fee refund (merchant -> seller), a row per part on each side
    payout           balance_available -> payouts_in_transit (an instant fee: -> fees_revenue)
    payout returned  payouts_in_transit (or platform_cash, after paid) -> balance_available
                     (an instant fee back: fees_revenue -> balance_available, on the same row)

available_on is the start of the day of the row's creation plus the account's delay_days (its
payout schedule's, default 2). A row names its ledger transfer (ledger_transfer_id).
Anything that reads a balance before it moves money locks the accounts first, in id order,
as the ledger does, so it cannot deadlock with a posting and never reads a stale balance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest, sourced_transfer
from paycore.ledger.service import LedgerService
from paycore.payout.models import BalanceStatus, BalanceType, Payout, Presentment
from paycore.payout.repository import BALANCE_TRANSACTION_COLUMNS, BalanceTransactionRepository
from paycore.storage.raw import driver_of
from paycore.storage.schema import ledger_accounts
from sqlalchemy.ext.asyncio import AsyncConnection

Clock = Callable[[], float]
la = ledger_accounts
_LOCK_ACCOUNTS = f"""
SELECT {la.c.id.name}, {la.c.credits_posted.name} - {la.c.debits_posted.name} AS posted,
       {la.c.debits_pending.name}
FROM {la.name}
WHERE {la.c.merchant_id.name} = $1 AND {la.c.id.name} = ANY($2::text[])
ORDER BY {la.c.id.name}
FOR UPDATE
"""

_ACCOUNTS_BY_CODES = f"""
SELECT a.{la.c.merchant_id.name}, a.{la.c.code.name}, a.{la.c.currency.name}, a.{la.c.id.name}
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(merchant_id, code, currency)
JOIN {la.name} a ON a.merchant_id = k.merchant_id AND a.code = k.code AND a.currency = k.currency
"""
_LOCK_ANY = f"""
SELECT {la.c.id.name}, {la.c.credits_posted.name} - {la.c.debits_posted.name} AS posted,
       {la.c.debits_pending.name}
FROM {la.name} WHERE {la.c.id.name} = ANY($1::text[])
ORDER BY {la.c.id.name}
FOR UPDATE
"""
_BALANCES = f"""
SELECT {la.c.id.name},
       {la.c.credits_posted.name} - {la.c.debits_posted.name} - {la.c.debits_pending.name}
         AS balance
FROM {la.name} WHERE {la.c.id.name} = ANY($1::text[])
"""


@dataclass(frozen=True)
class BalanceAccounts:
    """The ledger accounts behind one account's (merchant's or seller's) balance in a currency,
    and the merchant's platform accounts beside them."""

    pending: str
    available: str
    in_transit: str
    psp_receivable: str
    fees_revenue: str
    platform_cash: str


def _ids(accounts: BalanceAccounts) -> tuple[str, ...]:
    return (
        accounts.pending,
        accounts.available,
        accounts.in_transit,
        accounts.psp_receivable,
        accounts.fees_revenue,
        accounts.platform_cash,
    )


@dataclass(frozen=True)
class Taking:
    """Money taken out of a balance (`BalanceBook.take`): whose (`account`: "" the merchant's,
    or a seller's), how much, what for (`source`), its ledger code and its rows' type."""

    account: str
    currency: str
    amount: int
    source: str
    code: str
    kind: BalanceType
    description: str = ""


@dataclass(frozen=True)
class LockedBalance:
    pending: int
    available: int
    """Posted credits - posted debits - held debits: what can leave now."""


@dataclass(frozen=True, slots=True)
class BalanceBook:
    _ledger: LedgerService
    _clock: Clock = time.time

    def now(self) -> int:
        return int(self._clock())

    # -- accounts -------------------------------------------------------------------------------

    async def accounts(
        self, connection: AsyncConnection, merchant_id: str, account: str, currency: str
    ) -> BalanceAccounts:
        specs = self._specs(account)
        found = await self._ledger.merchant_accounts(connection, merchant_id, currency, specs)
        return BalanceAccounts(*(found[spec.code].id for spec in specs))

    async def accounts_many(
        self, connection: AsyncConnection, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], BalanceAccounts]:
        """`accounts` of many (merchant, account, currency) in one query (those missing any
        account are completed one by one)."""
        driver = await driver_of(connection)
        wanted = {key: self._specs(key[1]) for key in keys}
        columns: tuple[list[str], list[str], list[str]] = ([], [], [])
        for (merchant_id, _, currency), specs in wanted.items():
            for spec in specs:
                columns[0].append(merchant_id)
                columns[1].append(spec.code)
                columns[2].append(currency)
        found = {
            (row["merchant_id"], row["code"], row["currency"]): str(row["id"])
            for row in await driver.fetch(_ACCOUNTS_BY_CODES, *columns)
        }
        answer = {}
        for key, specs in wanted.items():
            merchant_id, account, currency = key
            ids = [found.get((merchant_id, spec.code, currency)) for spec in specs]
            if any(found_id is None for found_id in ids):
                answer[key] = await self.accounts(connection, merchant_id, account, currency)
            else:
                answer[key] = BalanceAccounts(*(str(found_id) for found_id in ids))
        return answer

    async def lock_many(
        self, connection: AsyncConnection, accounts: Sequence[BalanceAccounts]
    ) -> list[LockedBalance]:
        """`lock` for many, in one statement (id order, as the ledger locks)."""
        driver = await driver_of(connection)
        ids = sorted({account_id for one in accounts for account_id in _ids(one)})
        rows = {row["id"]: row for row in await driver.fetch(_LOCK_ANY, ids)}
        return [
            LockedBalance(
                pending=int(rows[one.pending]["posted"]),
                available=int(rows[one.available]["posted"])
                - int(rows[one.available]["debits_pending"]),
            )
            for one in accounts
        ]

    def _specs(self, account: str) -> tuple[codes.AccountCode, ...]:
        pending, available, in_transit = codes.balance_account_codes(account)
        return (
            pending,
            available,
            in_transit,
            codes.PSP_RECEIVABLE,
            codes.FEES_REVENUE,
            codes.PLATFORM_CASH,
        )

    async def lock(
        self, connection: AsyncConnection, merchant_id: str, accounts: BalanceAccounts
    ) -> LockedBalance:
        """Locks every account of `accounts` (id order) and reads the balance."""
        driver = await driver_of(connection)
        ids = sorted(set(_ids(accounts)))
        rows = {row["id"]: row for row in await driver.fetch(_LOCK_ACCOUNTS, merchant_id, ids)}
        pending = rows[accounts.pending]
        available = rows[accounts.available]
        return LockedBalance(
            pending=int(pending["posted"]),
            available=int(available["posted"]) - int(available["debits_pending"]),
        )

    # -- posting --------------------------------------------------------------------------------

    def transfer(
        self,
        merchant_id: str,
        code: str,
        *,
        debit: str,
        credit: str,
        amount: int,
        currency: str,
        source: str,
    ) -> TransferRequest:
        return sourced_transfer(
            merchant_id,
            source,
            code,
            debit=debit,
            credit=credit,
            amount=amount,
            currency=currency,
        )

    def payout_transfer(
        self, payout: Payout, code: str, *, debit: str, credit: str, amount: int | None = None
    ) -> TransferRequest:
        """A transfer of `payout`'s money (its amount unless `amount`, its currency), sourced
        by the payout."""
        return self.transfer(
            payout.merchant_id,
            code,
            debit=debit,
            credit=credit,
            amount=payout.amount if amount is None else amount,
            currency=payout.currency,
            source=payout.id,
        )

    async def post(
        self,
        connection: AsyncConnection,
        merchant_id: str | None,
        transfers: Sequence[TransferRequest],
    ) -> None:
        """All or nothing (one linked chain); a refusal is a bug: the caller locked and checked
        the balance first."""
        if not transfers:
            return
        chain = [*transfers[:-1], replace(transfers[-1], linked=False)]
        outcomes = await self._ledger.post_in(connection, merchant_id, chain)
        failed = [outcome for outcome in outcomes if not outcome.result.ok]
        invariant(not failed, f"the ledger refused pay-out transfers: {failed}")

    async def post_each(
        self, connection: AsyncConnection, transfers: Sequence[TransferRequest]
    ) -> list[bool]:
        """Independent transfers (none linked), across the shard's merchants; whether each
        was applied (one that would overdraw balance_available is refused alone)."""
        if not transfers:
            return []
        unlinked = [replace(transfer, linked=False) for transfer in transfers]
        outcomes = await self._ledger.post_in(connection, None, unlinked)
        return [outcome.result.ok for outcome in outcomes]

    async def balance_accounts(
        self, connection: AsyncConnection, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[str, str]]:
        """(pending, available) account ids of each (merchant, account, currency), in one
        query, created on first use."""
        driver = await driver_of(connection)
        wanted: dict[tuple[str, str, str], tuple[str, str]] = {}
        merchants, codes_wanted, currencies = [], [], []
        for merchant_id, account, currency in keys:
            pending, available, _ = codes.balance_account_codes(account)
            for spec in (pending, available):
                merchants.append(merchant_id)
                codes_wanted.append(spec.code)
                currencies.append(currency)
        found = {
            (row["merchant_id"], row["code"], row["currency"]): row["id"]
            for row in await driver.fetch(_ACCOUNTS_BY_CODES, merchants, codes_wanted, currencies)
        }
        for key in keys:
            merchant_id, account, currency = key
            pending, available, _ = codes.balance_account_codes(account)
            ids = (
                found.get((merchant_id, pending.code, currency)),
                found.get((merchant_id, available.code, currency)),
            )
            if ids[0] is None or ids[1] is None:
                made = await self._ledger.merchant_accounts(
                    connection, merchant_id, currency, (pending, available)
                )
                ids = (made[pending.code].id, made[available.code].id)
            wanted[key] = (str(ids[0]), str(ids[1]))
        return wanted

    async def posted_balances(
        self, connection: AsyncConnection, account_ids: Sequence[str]
    ) -> dict[str, int]:
        """Each account's posted credits - debits - held debits."""
        driver = await driver_of(connection)
        return {
            row["id"]: int(row["balance"])
            for row in await driver.fetch(_BALANCES, list(account_ids))
        }

    async def record(self, connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        await BalanceTransactionRepository(connection).insert(rows)

    def row(
        self,
        merchant_id: str,
        account: str,
        transfer: TransferRequest,
        kind: BalanceType,
        amount: int,
        *,
        fee: int = 0,
        status: BalanceStatus = BalanceStatus.PENDING,
        available_on: int | None = None,
        source: str = "",
        description: str = "",
        transaction_id: str = "",
        payout_id: str | None = None,
        currency: str = "",
        conversion: Presentment | None = None,
    ) -> dict[str, Any]:
        """A balance transaction row for `transfer` (available_on None: by the delay)."""
        now = self.now()
        shown = conversion or Presentment("", 0, "")
        values: dict[str, Any] = {
            "merchant_id": merchant_id,
            "id": transaction_id or new_merchant_id(Prefix.BALANCE_TRANSACTION, merchant_id),
            "account": account,
            "currency": currency or transfer.currency,
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "type": kind.value,
            "status": status.value,
            "available_on": now if status is BalanceStatus.AVAILABLE else available_on,
            "source": source or transfer.metadata.get("source", ""),
            "description": description,
            "ledger_transfer_id": transfer.id,
            "payout_id": payout_id,
            "created": now,
            "exchange_rate": shown.exchange_rate,
            "presentment_amount": shown.amount,
            "presentment_currency": shown.currency,
            "conversion_fee": shown.conversion_fee,
        }
        invariant(set(values) == set(BALANCE_TRANSACTION_COLUMNS), "a balance row's columns")
        return values

    # -- pay-in's credits and debits (paycore.payment.money) -------------------------------------

    async def payment(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        account: str,
        payment: TransferRequest,
        amount: int,
        currency: str,
        fee: int,
        source: str,
        conversion: Presentment | None = None,
        at_once: bool = False,
        transaction_id: str = "",
    ) -> None:
        """The row of money received (posted by pay-in as `payment`, its fee beside it);
        `at_once`: due now (the PSP made the funds available at once), not after the delay;
        `transaction_id`: its id when the caller named it before (a charge's events)."""
        await self.record(
            connection,
            [
                self.row(
                    merchant_id,
                    account,
                    payment,
                    BalanceType.PAYMENT,
                    amount,
                    fee=fee,
                    source=source,
                    currency=currency,
                    conversion=conversion,
                    available_on=self.now() if at_once else None,
                    transaction_id=transaction_id,
                )
            ],
        )

    async def passed_on(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        seller: str,
        transfer: TransferRequest,
        source: str,
        at_once: bool = False,
    ) -> None:
        """A destination charge's share, posted by pay-in as `transfer`: the merchant's row and
        the seller's; `at_once`: both due now, as the charge's own row (`payment`)."""
        due = self.now() if at_once else None
        await self.record(
            connection,
            [
                self.row(
                    merchant_id,
                    "",
                    transfer,
                    BalanceType.TRANSFER,
                    -transfer.amount,
                    source=source,
                    available_on=due,
                ),
                self.row(
                    merchant_id,
                    seller,
                    transfer,
                    BalanceType.PAYMENT,
                    transfer.amount,
                    source=source,
                    available_on=due,
                ),
            ],
        )

    async def refund(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        account: str,
        currency: str,
        amount: int,
        source: str,
        counter: str = "",
        conversion: Presentment | None = None,
    ) -> list[TransferRequest]:
        """A refund: from balance_available as far as it goes, the rest from balance_pending.
        The pending part's row is due at once: the availability job nets it against the
        day's credits (or takes it from what becomes available). `counter`: the account the
        money goes to (psp_receivable unless a conversion's FX clearing account). Returns the
        transfers it posted."""
        taking = Taking(
            account, currency, amount, source, codes.TRANSFER_REFUND, BalanceType.REFUND
        )
        transfers, _ = await self.take(
            connection, merchant_id, taking, counter=counter, conversion=conversion
        )
        return transfers

    async def take(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        taking: Taking,
        *,
        counter: str = "",
        conversion: Presentment | None = None,
    ) -> tuple[list[TransferRequest], list[dict[str, Any]]]:
        """`taking.amount` out of a balance as a refund takes it (`refund`), to `counter`
        (psp_receivable when ""): a row per part, of `taking.kind`. Returns the transfers it
        posted and their rows."""
        accounts = await self.accounts(connection, merchant_id, taking.account, taking.currency)
        balance = await self.lock(connection, merchant_id, accounts)
        from_available = min(taking.amount, max(0, balance.available))
        parts = [
            (from_available, accounts.available, BalanceStatus.AVAILABLE),
            (taking.amount - from_available, accounts.pending, BalanceStatus.PENDING),
        ]
        transfers: list[TransferRequest] = []
        rows: list[dict[str, Any]] = []
        for part, debit, status in parts:
            if part <= 0:
                continue
            transfer = self.transfer(
                merchant_id,
                taking.code,
                debit=debit,
                credit=counter or accounts.psp_receivable,
                amount=part,
                currency=taking.currency,
                source=taking.source,
            )
            transfers.append(transfer)
            rows.append(
                self.row(
                    merchant_id,
                    taking.account,
                    transfer,
                    taking.kind,
                    -part,
                    status=status,
                    available_on=self.now(),
                    description=taking.description,
                    conversion=conversion,
                )
            )
        await self.post(connection, merchant_id, transfers)
        await self.record(connection, rows)
        return transfers, rows

    async def move(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        payer: str,
        payee: str,
        currency: str,
        amount: int,
        source: str,
        code: str,
        kind: BalanceType,
        description: str,
        to_available: bool = False,
    ) -> list[dict[str, Any]]:
        """`amount` from one balance of the merchant's (`payer`: "" the merchant's own, or a
        seller's) to another's (`payee`), as a refund takes it: from the payer's
        balance_available as far as it goes, the rest from its balance_pending (which may go
        negative, as at Stripe), each part to the payee's balance_pending, due at once (the
        availability job makes it available), or, `to_available`, to its balance_available
        (a transfer reversal, which Stripe credits available at once). A row per part on each
        side, of type `kind` (answered: the payer's rows first in each part).
        Both balances are locked in one statement (id order), so that two moves between the
        same two balances, either way, cannot deadlock."""
        accounts = [
            await self.accounts(connection, merchant_id, payer, currency),
            await self.accounts(connection, merchant_id, payee, currency),
        ]
        balance, _ = await self.lock_many(connection, accounts)
        from_available = min(amount, max(0, balance.available))
        parts = [
            (from_available, accounts[0].available, BalanceStatus.AVAILABLE),
            (amount - from_available, accounts[0].pending, BalanceStatus.PENDING),
        ]
        transfers: list[TransferRequest] = []
        rows: list[dict[str, Any]] = []
        now = self.now()
        for part, debit, status in parts:
            if part <= 0:
                continue
            transfer = self.transfer(
                merchant_id,
                code,
                debit=debit,
                credit=accounts[1].available if to_available else accounts[1].pending,
                amount=part,
                currency=currency,
                source=source,
            )
            transfers.append(transfer)
            credited = BalanceStatus.AVAILABLE if to_available else BalanceStatus.PENDING
            for account, signed, side in ((payer, -part, status), (payee, part, credited)):
                rows.append(
                    self.row(
                        merchant_id,
                        account,
                        transfer,
                        kind,
                        signed,
                        status=side,
                        available_on=now,
                        description=description,
                    )
                )
        await self.post(connection, merchant_id, transfers)
        await self.record(connection, rows)
        return rows

    # -- reconciliation's adjustments (paycore.reconciliation.resolution) ------------------------

    async def adjust(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        *,
        account: str,
        moves: Sequence[tuple[TransferRequest, int]],
        status: BalanceStatus,
        description: str,
    ) -> None:
        """Adjustments of a balance that reconciliation decided: each transfer (built by the
        caller, with its own id) and its `adjustment` row of that amount (what the balance
        gains; pending rows become available by the account's delay)."""
        await self.post(connection, merchant_id, [transfer for transfer, _ in moves])
        await self.record(
            connection,
            [
                self.row(
                    merchant_id,
                    account,
                    transfer,
                    BalanceType.ADJUSTMENT,
                    amount,
                    status=status,
                    description=description,
                )
                for transfer, amount in moves
            ],
        )
