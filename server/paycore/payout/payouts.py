"""Creating payouts (po_): manual ones (CreatePayout), automatic ones (the scheduler's, one per
account, currency and period), canceling a pending manual one, reversing a paid one
(ReversePayout, Stripe's rules), changing a payout's metadata;
and handing them to the executor, which sends each to the bank exactly once with the payout id
as its idempotency key.

A manual standard payout waits in the executor's queue for the worker (the executor's lease,
30 s by default): until then it can be canceled, which withdraws its execution in the same
transaction. An instant payout and the automatic ones are sent as soon as they commit.

What can be paid out is the available balance, less what the pending balance owes when it is
negative (a refund larger than the balance); an instant payout's fee comes out beside it.
Processors take some currencies' payouts only in whole multiples (paycore.currency.rules: HUF
and TWD in hundreds of minor units): a manual payout's amount is checked, an automatic one
pays the largest such amount and carries the rest to the next payout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from paycore.currency.rules import CurrencyRules
from paycore.errors import ApiError, Reason, not_found
from paycore.events import Recorder
from paycore.executor.models import Execution, NewExecution, Operation
from paycore.executor.service import Executor
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.ledger.repository import AccountRepository
from paycore.payout.availability import Availability
from paycore.payout.balances import BalanceAccounts, BalanceBook
from paycore.payout.bank_accounts import BankAccounts, require_account
from paycore.payout.calendar import arrival_date
from paycore.payout.events import (
    PAYOUT_CREATED,
    PAYOUT_RECONCILIATION_COMPLETED,
    PAYOUT_UPDATED,
)
from paycore.payout.lifecycle import PayoutLifecycle
from paycore.payout.models import (
    DAY_SECONDS,
    BalanceStatus,
    BalanceType,
    BankAccountStatus,
    InstantAvailable,
    InstantFees,
    NewPayout,
    Payout,
    PayoutMethod,
    PayoutStatus,
    Schedule,
    payable,
)
from paycore.payout.repository import (
    BankAccountRepository,
    PayoutRepository,
    ScheduledBatch,
)
from paycore.records import MetadataChange
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class Created:
    """A payout just committed and what sends it: the claimed execution of an automatic
    payout, or (instant) the queued one's id."""

    payout: Payout
    claimed: Execution | None = None


@dataclass(frozen=True, slots=True)
class Payouts:
    _book: BalanceBook
    _executor: Executor
    _lifecycle: PayoutLifecycle
    _bank_accounts: BankAccounts
    _fees: InstantFees
    _events: Recorder[Payout]
    _rules: CurrencyRules
    _availability: Availability

    def instant_available(self, available: int, pending: int, currency: str) -> int:
        """The largest instant payout `create` takes out of this balance (Stripe's
        `instant_available`): amount and fee within what can be paid out, in the currency's
        payout multiples."""
        return InstantAvailable(self._fees, self._rules)(available, pending, currency)

    # -- manual ---------------------------------------------------------------------------------

    async def create(self, connection: AsyncConnection, merchant_id: str, new: NewPayout) -> Payout:
        await require_account(connection, merchant_id, new.account)
        destination = await self._destination(connection, merchant_id, new)
        await self._availability.settle(connection, merchant_id)
        accounts = await self._existing_accounts(connection, merchant_id, new.account, new.currency)
        balance = await self._book.lock(connection, merchant_id, accounts)
        fee = self._fees.fee_for(new.amount) if new.method is PayoutMethod.INSTANT else 0
        can_pay = payable(balance.available, balance.pending)
        if new.amount + fee > can_pay:
            raise ApiError(
                Reason.BALANCE_INSUFFICIENT,
                param="amount",
                amount=new.amount + fee,
                currency=new.currency,
                available=max(0, can_pay),
            )
        payout_id = self._new_id(merchant_id)
        execution_id = await self._executor.enqueue(
            connection,
            self._execution(merchant_id, payout_id, new.amount, new.currency, new.method),
        )
        payout = _pending(
            merchant_id,
            payout_id,
            replace(new, destination=destination),
            fee=fee,
            automatic=False,
            period=None,
            execution_id=execution_id,
            now=self._book.now(),
        )
        return await self._record(connection, accounts, payout)

    async def cancel(self, connection: AsyncConnection, merchant_id: str, payout_id: str) -> Payout:
        payout = await PayoutRepository(connection).get(merchant_id, payout_id, lock=True)
        if payout is None:
            raise not_found("payout", payout_id)
        if payout.automatic:
            raise ApiError(
                Reason.PAYOUT_NOT_CANCELABLE, param="id", id=payout_id, detail="it is automatic"
            )
        if payout.status is not PayoutStatus.PENDING:
            raise ApiError(
                Reason.PAYOUT_NOT_CANCELABLE,
                param="id",
                id=payout_id,
                detail=f"it is {payout.status.value}",
            )
        if not await self._executor.withdraw(connection, merchant_id, payout.execution_id):
            raise ApiError(
                Reason.PAYOUT_NOT_CANCELABLE,
                param="id",
                id=payout_id,
                detail="it is being sent to the bank",
            )
        return await self._lifecycle.cancel(connection, payout)

    async def reverse(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payout_id: str,
        metadata: MetadataChange,
    ) -> Payout:
        """ReversePayout: the reversing payout (-amount, `original_payout`) of a reversible
        payout (`_not_reversible`), on the original locked; its money and events are the
        lifecycle's."""
        original = await PayoutRepository(connection).get(merchant_id, payout_id, lock=True)
        if original is None:
            raise not_found("payout", payout_id)
        detail = await self._not_reversible(connection, original)
        if detail:
            raise ApiError(Reason.PAYOUT_NOT_REVERSIBLE, param="id", id=payout_id, detail=detail)
        now = self._book.now()
        terms = NewPayout(
            original.account,
            -original.amount,
            original.currency,
            original.destination,
            PayoutMethod.STANDARD,
            metadata=dict(metadata.applied_to({})),
        )
        reversal = _pending(
            merchant_id,
            self._new_id(merchant_id),
            terms,
            fee=0,
            automatic=False,
            period=None,
            execution_id="",
            now=now,
        )
        reversal = replace(reversal, arrival_date=now, original_payout=original.id)
        return await self._lifecycle.reverse(connection, original, reversal)

    async def _not_reversible(self, connection: AsyncConnection, payout: Payout) -> str:
        """Why Stripe would not reverse `payout`, "" when it would: only a paid standard payout
        of a connected account (a seller) to a US or Canadian bank account, expected less than
        90 days ago, never reversed and no reversal itself."""
        if payout.original_payout:
            return f"it is the reversal of {payout.original_payout}"
        if payout.reversed_by:
            return f"it was reversed by {payout.reversed_by}"
        if payout.status is PayoutStatus.PENDING:
            return "it is pending: cancel it instead"
        if payout.status is not PayoutStatus.PAID:
            return f"it is {payout.status.value}; only a paid payout is reversed"
        if payout.method is PayoutMethod.INSTANT:
            return "it is an instant payout"
        if not payout.account:
            return "only the payouts of connected accounts (sellers) are reversed"
        if payout.arrival_date < self._book.now() - REVERSIBLE_DAYS * DAY_SECONDS:
            return f"it arrived more than {REVERSIBLE_DAYS} days ago"
        bank_account = await BankAccountRepository(connection).get(
            payout.merchant_id, payout.destination
        )
        if bank_account is None:
            return "it went to a card; only payouts to a bank account are reversed"
        if bank_account.country not in REVERSIBLE_COUNTRIES:
            return (
                f"its bank account is in {bank_account.country};"
                " only payouts to US and Canadian bank accounts are reversed"
            )
        return ""

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payout_id: str,
        metadata: MetadataChange,
    ) -> Payout:
        """UpdatePayout: the metadata alone, whatever the payout's status or kind (as at
        Stripe), on the payout locked against the lifecycle's moves; payout.updated when it
        changed."""
        repository = PayoutRepository(connection)
        payout = await repository.get(merchant_id, payout_id, lock=True)
        if payout is None:
            raise not_found("payout", payout_id)
        changed = metadata.applied_to(payout.metadata)
        if changed == payout.metadata:
            return payout  # an update that changes nothing is no event (as at Stripe)
        updated = replace(payout, metadata=changed)
        await repository.set_metadata(payout, changed)
        await self._events.record(connection, PAYOUT_UPDATED, updated, before=payout)
        return updated

    async def send(self, payout: Payout, claimed: Execution | None = None) -> None:
        """After commit: runs its execution now (instant and automatic payouts)."""
        await self._executor.run(payout.merchant_id, payout.execution_id, claimed=claimed)

    async def send_batch(self, claimed: Sequence[Execution]) -> None:
        if claimed:
            await self._executor.run_batch(claimed, SEND_CONCURRENCY_MAX)

    # -- automatic ------------------------------------------------------------------------------

    async def automatic(
        self, connection: AsyncConnection, due: Sequence[tuple[str, Schedule]]
    ) -> list[Created]:
        """The payouts of these schedules (claimed and locked by the caller) for their periods
        (each schedule's next_run_on): per account and currency, everything available that no
        automatic payout took yet, to the currency's default bank account, rounded down to
        what the processors take in the currency (the rest is carried to the next payout).
        Skipped (they wait) below the minimum, while the balance is negative, without a usable
        bank account, or when the period's payout exists. A batch is a handful of statements,
        whatever its size."""
        batch = ScheduledBatch(connection)
        schedules = {(merchant_id, schedule.account): schedule for merchant_id, schedule in due}
        keys = await batch.unswept_keys(list(schedules))
        bank_accounts = await batch.default_bank_accounts(keys)
        keys = [
            key
            for key in keys
            if key in bank_accounts and bank_accounts[key][1] != BankAccountStatus.ERRORED.value
        ]
        if not keys:
            return []
        periods = [self._period(schedules[key[0], key[1]]) for key in keys]
        taken = await batch.periods_taken(keys, periods)
        keys = [key for key in keys if key not in taken]
        if not keys:
            return []
        accounts = await self._book.accounts_many(connection, keys)
        balances = await self._book.lock_many(connection, [accounts[key] for key in keys])
        swept = await batch.lock_unswept(keys)
        now = self._book.now()
        payouts: list[Payout] = []
        remainders: dict[str, int] = {}
        for key, balance in zip(keys, balances, strict=True):
            merchant_id, account, currency = key
            unswept = sum(net for _, net in swept[key])
            amount = self._rules.payable(unswept, currency)
            minimum = schedules[merchant_id, account].minimum_amounts.get(currency, 1)
            if balance.pending < 0 or amount <= 0 or amount < minimum:
                continue
            invariant(amount <= balance.available, f"{key}: rows beyond the available balance")
            terms = NewPayout(
                account, amount, currency, bank_accounts[key][0], PayoutMethod.STANDARD
            )
            payout_id = self._new_id(merchant_id)
            remainders[payout_id] = unswept - amount
            payouts.append(
                _pending(
                    merchant_id,
                    payout_id,
                    terms,
                    fee=0,
                    automatic=True,
                    period=self._period(schedules[merchant_id, account]),
                    execution_id="",
                    now=now,
                )
            )
        if not payouts:
            return []
        claimed = await self._executor.enqueue_claimed_many(
            connection,
            [self._execution(p.merchant_id, p.id, p.amount, p.currency, p.method) for p in payouts],
        )
        book = self._book
        transfers = []
        rows = []
        carried = []
        for payout in payouts:
            key = (payout.merchant_id, payout.account, payout.currency)
            transfer = book.payout_transfer(
                payout,
                codes.TRANSFER_PAYOUT,
                debit=accounts[key].available,
                credit=accounts[key].in_transit,
            )
            transfers.append(transfer)
            rows.append(
                book.row(
                    payout.merchant_id,
                    payout.account,
                    transfer,
                    BalanceType.PAYOUT,
                    -payout.amount,
                    status=BalanceStatus.AVAILABLE,
                    payout_id=payout.id,
                )
            )
            carried += self._carried(payout, transfer, remainders[payout.id])
        applied = await book.post_each(connection, transfers)
        invariant(all(applied), "the ledger refused an automatic payout after the balance check")
        await book.record(connection, [*rows, *carried])
        await batch.assign(
            [
                (payout.merchant_id, transaction, payout.id)
                for payout in payouts
                for transaction, _ in swept[payout.merchant_id, payout.account, payout.currency]
            ]
        )
        recorded = [
            replace(payout, balance_transaction=str(row["id"]), execution_id=execution.id)
            for payout, row, execution in zip(payouts, rows, claimed, strict=True)
        ]
        await batch.insert_payouts(recorded)
        await self._events.record_each(connection, PAYOUT_CREATED, recorded)
        await self._events.record_each(connection, PAYOUT_RECONCILIATION_COMPLETED, recorded)
        return [
            Created(payout, execution) for payout, execution in zip(recorded, claimed, strict=True)
        ]

    def _carried(
        self, payout: Payout, transfer: TransferRequest, remainder: int
    ) -> list[dict[str, Any]]:
        """What an automatic payout swept beyond its (rounded) amount, as two rows that net to
        zero: one of this payout, taking `remainder` out of it (its rows add up to its amount),
        and one left unswept, available, that the next payout sweeps. The ledger moves nothing:
        the remainder never left balance_available."""
        if not remainder:
            return []
        multiple = self._rules.rule(payout.currency).payout_multiple
        why = f"{payout.currency} payouts are whole multiples of {multiple} minor units"
        merchant_id, account, book = payout.merchant_id, payout.account, self._book
        status = BalanceStatus.AVAILABLE
        return [
            book.row(
                merchant_id,
                account,
                transfer,
                BalanceType.PAYOUT,
                -remainder,
                status=status,
                payout_id=payout.id,
                description=f"Carried to the next payout: {why}",
            ),
            book.row(
                merchant_id,
                account,
                transfer,
                BalanceType.PAYOUT,
                remainder,
                status=status,
                description=f"Carried from payout {payout.id}: {why}",
            ),
        ]

    @staticmethod
    def _period(schedule: Schedule) -> dt.date:
        invariant(schedule.next_run_on is not None, "a due schedule has a run day")
        return schedule.next_run_on or dt.date.min

    # -- shared ---------------------------------------------------------------------------------

    async def _record(
        self,
        connection: AsyncConnection,
        accounts: BalanceAccounts,
        payout: Payout,
    ) -> Payout:
        """A manual payout's money (available -> in transit, the fee to revenue), its balance
        transaction, the payout row and payout.created."""
        book = self._book
        merchant_id = payout.merchant_id
        transfers = [
            book.payout_transfer(
                payout, codes.TRANSFER_PAYOUT, debit=accounts.available, credit=accounts.in_transit
            )
        ]
        if payout.fee:
            transfers.append(
                book.payout_transfer(
                    payout,
                    codes.TRANSFER_FEE,
                    debit=accounts.available,
                    credit=accounts.fees_revenue,
                    amount=payout.fee,
                )
            )
        await book.post(connection, merchant_id, transfers)
        row = book.row(
            merchant_id,
            payout.account,
            transfers[0],
            BalanceType.PAYOUT,
            -payout.amount,
            fee=payout.fee,
            status=BalanceStatus.AVAILABLE,
        )
        await book.record(connection, [row])
        recorded = replace(payout, balance_transaction=str(row["id"]))
        inserted = await PayoutRepository(connection).insert(recorded)
        # The schedule's row lock (and count_for_period) keep a period to one payout; the unique
        # index is the last word, and a duplicate here would be a bug: roll back.
        invariant(inserted, f"payout {payout.id}: its period {payout.period} has a payout")
        await self._events.record(connection, PAYOUT_CREATED, recorded)
        return recorded

    async def _destination(
        self, connection: AsyncConnection, merchant_id: str, new: NewPayout
    ) -> str:
        if new.destination.startswith(Prefix.PAYMENT_METHOD.value + "_"):
            if new.method is not PayoutMethod.INSTANT:
                raise ApiError(
                    Reason.PAYOUT_METHOD_UNSUPPORTED,
                    param="method",
                    detail="a payout to a debit card is instant",
                )
            await self._bank_accounts.payout_card(
                connection, merchant_id, new.account, new.destination, new.currency
            )
            return new.destination
        if not new.destination and new.method is PayoutMethod.INSTANT:
            card = await self._bank_accounts.default_card(
                connection, merchant_id, new.account, new.currency
            )
            if card is not None:
                return card.id
        if new.destination:
            bank_account = await self._bank_accounts.usable(
                connection, merchant_id, new.account, new.destination
            )
        else:
            default = await self._bank_accounts.default_for(
                connection, merchant_id, new.account, new.currency
            )
            if default is None:
                raise ApiError(
                    Reason.BANK_ACCOUNT_MISSING, param="destination", currency=new.currency
                )
            bank_account = await self._bank_accounts.usable(
                connection, merchant_id, new.account, default.id
            )
        if bank_account.currency != new.currency:
            raise ApiError(
                Reason.PAYOUT_CURRENCY_MISMATCH,
                param="destination",
                expected=bank_account.currency,
                currency=new.currency,
            )
        if new.method is PayoutMethod.INSTANT and not bank_account.instant_supported:
            raise ApiError(
                Reason.PAYOUT_METHOD_UNSUPPORTED,
                param="method",
                detail=f"the bank account {bank_account.id} takes no instant payouts",
            )
        return bank_account.id

    async def _existing_accounts(
        self, connection: AsyncConnection, merchant_id: str, account: str, currency: str
    ) -> BalanceAccounts:
        pending_code = codes.balance_account_codes(account)[0].code
        found = await AccountRepository(connection).by_codes(merchant_id, currency, [pending_code])
        if not found:
            raise ApiError(Reason.NO_BALANCE_IN_CURRENCY, param="currency", currency=currency)
        return await self._book.accounts(connection, merchant_id, account, currency)

    def _execution(
        self, merchant_id: str, payout_id: str, amount: int, currency: str, method: PayoutMethod
    ) -> NewExecution:
        return NewExecution(
            merchant_id=merchant_id,
            operation=Operation.PAYOUT,
            amount=amount,
            currency=currency,
            psp_key=payout_id,
            metadata={"payout": payout_id, "method": method.value},
        )

    def _new_id(self, merchant_id: str) -> str:
        return new_merchant_id(Prefix.PAYOUT, merchant_id)


def _pending(
    merchant_id: str,
    payout_id: str,
    terms: NewPayout,
    *,
    fee: int,
    automatic: bool,
    period: dt.date | None,
    execution_id: str,
    now: int,
) -> Payout:
    """A new payout of `terms` (their destination resolved), before its money moves."""
    return Payout(
        id=payout_id,
        merchant_id=merchant_id,
        account=terms.account,
        amount=terms.amount,
        fee=fee,
        currency=terms.currency,
        destination=terms.destination,
        method=terms.method,
        status=PayoutStatus.PENDING,
        automatic=automatic,
        period=period,
        arrival_date=arrival_date(now, terms.method),
        balance_transaction="",
        failure_balance_transaction="",
        failure_code="",
        failure_message="",
        bank_reference="",
        execution_id=execution_id,
        description=terms.description,
        created=now,
        metadata=terms.metadata,
        statement_descriptor=terms.statement_descriptor,
    )


SEND_CONCURRENCY_MAX = 16
"""Payouts of one batch in flight to the bank at once."""
REVERSIBLE_DAYS = 90
"""Stripe reverses a payout expected to arrive less than this many days ago."""
REVERSIBLE_COUNTRIES = frozenset({"US", "CA"})
"""The countries of the bank accounts whose payouts Stripe reverses."""


async def send_all(payouts: Payouts, created: Sequence[Created]) -> None:
    """After the batch's commit: sends its payouts (one shard's) through the executor, their
    outcomes recorded together (Executor.run_batch)."""
    await payouts.send_batch([one.claimed for one in created if one.claimed is not None])


__all__ = ["Created", "Payouts", "send_all"]
