"""A payout's life after it is created, and the money each step moves:

    pending ──> in_transit ──> paid ──> failed   (returned by the bank days later)
       │             └──────────────────> failed
       ├──> failed   (the bank refused it at once, or the execution failed)
       └──> canceled (CancelPayout, before it was sent)
    paid ──> reversed_by a new payout of -amount (ReversePayout), itself paid at once

    in_transit -> paid       payouts_in_transit -> platform_cash (the money left the bank)
    failed (not yet paid)    payouts_in_transit -> balance_available, a payout_failure row
    failed (after paid)      platform_cash -> balance_available, a payout_failure row
    canceled                 payouts_in_transit -> balance_available, a payout_cancel row
    (failed or canceled)     an instant payout's fee: fees_revenue -> balance_available
                             (payout_fee_reversal), on the same row as fee -fee
    reversed                 platform_cash -> balance_available, a payout row of +amount
                             (the reversal's); a reversed payout is never failed after

An instant payout's fee comes back with its money (as Stripe returns a failed Instant Payout's
fee): the reverse of the payout's fee transfer, posted in one chain with the return of the
amount, and one row for both (amount +amount, fee -fee, net amount + fee). A failure to a bank
account marks it errored: automatic payouts stop until another bank account replaces it as
default. Every step runs in its caller's transaction with the payout locked, and only from the
statuses that lead to it (the callers check the locked status; `_return_funds` refuses any
other), so a failure applied twice (the bank's news again, a completion recorded again after a
crash) returns the money and the fee once: the second finds the payout failed and moves
nothing. Each step records its event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.events import Recorder
from paycore.executor.models import Execution
from paycore.ids import Prefix
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.payout.balances import BalanceBook
from paycore.payout.calendar import arrival_date
from paycore.payout.events import (
    PAYOUT_CANCELED,
    PAYOUT_CREATED,
    PAYOUT_FAILED,
    PAYOUT_PAID,
    PAYOUT_UPDATED,
)
from paycore.payout.metrics import PayoutMetrics
from paycore.payout.models import (
    DAY_SECONDS,
    BalanceStatus,
    BalanceType,
    BankAccountStatus,
    Payout,
    PayoutStatus,
)
from paycore.payout.repository import BankAccountRepository, PayoutRepository
from sqlalchemy.ext.asyncio import AsyncConnection

RETURN_WINDOW_DAYS = 5
"""How long after arrival the bank may still return a paid payout: its status is looked at
once a day until then."""
CHECK_AGAIN_SECONDS = 3600
"""When the bank has not moved a payout it should have, look again this much later."""
_RETURNABLE = frozenset({PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID})
"""The statuses a payout's money (and fee) can come back from: failed and canceled are final."""


@dataclass(frozen=True, slots=True)
class PayoutLifecycle:
    _book: BalanceBook
    _events: Recorder[Payout]
    _metrics: PayoutMetrics

    def now(self) -> int:
        return self._book.now()

    async def complete(self, connection: AsyncConnection, execution: Execution) -> None:
        """The executor's completion of a payout execution (operation payout), inside its
        recording transaction: the bank took it (in transit, or paid when instant) or the
        execution failed for good."""
        merchant_id = execution.merchant_id
        payout = await PayoutRepository(connection).get(merchant_id, execution.psp_key, lock=True)
        if payout is None or payout.status is not PayoutStatus.PENDING:
            return  # canceled meanwhile (its execution was withdrawn), or already applied
        answer = execution.answer
        if not execution.succeeded or answer is None:
            await self.fail(
                connection,
                payout,
                execution.failure_code or "could_not_process",
                execution.failure_message or "The payout could not be sent to the bank.",
            )
            return
        sent = replace(
            payout,
            status=PayoutStatus.IN_TRANSIT,
            bank_reference=answer.reference,
            arrival_date=arrival_date(self.now(), payout.method),
        )
        if answer.status == "paid":
            await self.paid(connection, sent)
            return
        await self._save(
            connection, sent, PAYOUT_UPDATED, next_check_at=sent.arrival_date, before=payout
        )

    async def paid(self, connection: AsyncConnection, payout: Payout) -> Payout:
        accounts = await self._book.accounts(
            connection, payout.merchant_id, payout.account, payout.currency
        )
        transfer = self._book.payout_transfer(
            payout, codes.TRANSFER_PAYOUT, debit=accounts.in_transit, credit=accounts.platform_cash
        )
        await self._book.post(connection, payout.merchant_id, [transfer])
        paid = replace(payout, status=PayoutStatus.PAID)
        return await self._save(connection, paid, PAYOUT_PAID, next_check_at=self._next_look(paid))

    async def still_paid(self, connection: AsyncConnection, payout: Payout) -> None:
        await PayoutRepository(connection).update(payout, self._next_look(payout))

    async def still_in_transit(self, connection: AsyncConnection, payout: Payout) -> None:
        later = max(payout.arrival_date, self.now() + CHECK_AGAIN_SECONDS)
        await PayoutRepository(connection).update(payout, later)

    async def fail(
        self, connection: AsyncConnection, payout: Payout, code: str, message: str
    ) -> Payout:
        if payout.reversed_by:
            return payout  # its money came back by its reversal: a return cannot apply again
        source = await self._book.accounts(
            connection, payout.merchant_id, payout.account, payout.currency
        )
        debit = source.platform_cash if payout.status is PayoutStatus.PAID else source.in_transit
        row_id = await self._return_funds(
            connection, payout, debit, codes.TRANSFER_PAYOUT_FAILURE, BalanceType.PAYOUT_FAILURE
        )
        if payout.destination.startswith(Prefix.BANK_ACCOUNT.value + "_"):
            await BankAccountRepository(connection).set_status(
                payout.merchant_id, payout.destination, BankAccountStatus.ERRORED
            )
        failed = replace(
            payout,
            status=PayoutStatus.FAILED,
            failure_code=code,
            failure_message=message,
            failure_balance_transaction=row_id,
        )
        saved = await self._save(connection, failed, PAYOUT_FAILED, next_check_at=None)
        self._metrics.failed.labels(code or "unknown").inc()
        return saved

    async def cancel(self, connection: AsyncConnection, payout: Payout) -> Payout:
        accounts = await self._book.accounts(
            connection, payout.merchant_id, payout.account, payout.currency
        )
        row_id = await self._return_funds(
            connection,
            payout,
            accounts.in_transit,
            codes.TRANSFER_PAYOUT_CANCEL,
            BalanceType.PAYOUT_CANCEL,
        )
        canceled = replace(payout, status=PayoutStatus.CANCELED, failure_balance_transaction=row_id)
        return await self._save(connection, canceled, PAYOUT_CANCELED, next_check_at=None)

    async def reverse(
        self, connection: AsyncConnection, original: Payout, reversal: Payout
    ) -> Payout:
        """ReversePayout's money and events, `reversal` (pending, -amount) being new: the bank
        account debited, the amount back on the available balance (platform_cash ->
        balance_available, a `payout` row of +amount), the original marked `reversed_by`
        (payout.updated) and the reversal recorded (payout.created) and paid (payout.paid) at
        once: the bank's debit is not simulated."""
        book = self._book
        accounts = await book.accounts(
            connection, original.merchant_id, original.account, original.currency
        )
        transfer = book.payout_transfer(
            reversal,
            codes.TRANSFER_PAYOUT_REVERSAL,
            debit=accounts.platform_cash,
            credit=accounts.available,
            amount=original.amount,
        )
        await book.post(connection, original.merchant_id, [transfer])
        row = book.row(
            original.merchant_id,
            original.account,
            transfer,
            BalanceType.PAYOUT,
            original.amount,
            status=BalanceStatus.AVAILABLE,
        )
        await book.record(connection, [row])
        repository = PayoutRepository(connection)
        reversed_original = replace(original, reversed_by=reversal.id)
        await repository.set_reversed(reversed_original)
        await self._events.record(connection, PAYOUT_UPDATED, reversed_original, before=original)
        created = replace(reversal, balance_transaction=str(row["id"]))
        await repository.insert(created)
        await self._events.record(connection, PAYOUT_CREATED, created)
        paid = replace(created, status=PayoutStatus.PAID)
        return await self._save(connection, paid, PAYOUT_PAID, next_check_at=None)

    async def _return_funds(
        self,
        connection: AsyncConnection,
        payout: Payout,
        debit: str,
        code: str,
        kind: BalanceType,
    ) -> str:
        """The payout's amount back to the available balance out of `debit`, and its fee (an
        instant payout's) out of fees_revenue, in one chain; one row for both, naming the
        amount's transfer."""
        status = payout.status
        invariant(status in _RETURNABLE, f"payout {payout.id} is {status}: nothing to return")
        book = self._book
        accounts = await book.accounts(
            connection, payout.merchant_id, payout.account, payout.currency
        )
        transfers = [book.payout_transfer(payout, code, debit=debit, credit=accounts.available)]
        if payout.fee:
            transfers.append(
                book.payout_transfer(
                    payout,
                    codes.TRANSFER_PAYOUT_FEE_REVERSAL,
                    debit=accounts.fees_revenue,
                    credit=accounts.available,
                    amount=payout.fee,
                )
            )
        await book.post(connection, payout.merchant_id, transfers)
        row = book.row(
            payout.merchant_id,
            payout.account,
            transfers[0],
            kind,
            payout.amount,
            fee=-payout.fee,
            status=BalanceStatus.AVAILABLE,
        )
        await book.record(connection, [row])
        return str(row["id"])

    async def _save(
        self,
        connection: AsyncConnection,
        payout: Payout,
        event_type: str,
        *,
        next_check_at: int | None,
        before: Payout | None = None,
    ) -> Payout:
        """The payout's new state and its event (`before`: the payout as it was, whose changed
        fields a `payout.updated` carries as Stripe's `previous_attributes`)."""
        await PayoutRepository(connection).update(payout, next_check_at)
        await self._events.record(connection, event_type, payout, before=before)
        return payout

    def _next_look(self, payout: Payout) -> int | None:
        """Once a day until the return window after arrival has passed."""
        window_end = payout.arrival_date + RETURN_WINDOW_DAYS * DAY_SECONDS
        now = self.now()
        return None if now >= window_end else min(window_end, now + DAY_SECONDS)
