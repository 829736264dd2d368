"""Resolving a discrepancy: the ledger transfers each action books, and the rule that says
which kinds resolve themselves (docs/reconciliation.md, "Resolution").

An item's residual is what it leaves in psp_receivable for its day (paycore's signed amount
less the report's, per currency). Resolving moves that residual out of psp_receivable against
the account the action names:

    adjust          balance_pending          paycore's books follow the report: the merchant's
    write_off       reconciliation_write_offs the platform absorbs the difference
    refund_at_psp   psp_refunds_due          the cardholder is owed it (only for money the PSP
                                              paid that paycore never sold: residual < 0)
    ignore          (nothing)                closed with a note; the residual stays explained
    auto            duplicate charges -> psp_refunds_due; fee_mismatch -> the fee difference
                    from psp_fees to psp_fee_claims; timing -> nothing (the next report
                    settles it, which closes it)

`adjust` changes the merchant's balance, so it goes through the balance book (paycore.payout):
the transfer and an `adjustment` balance transaction, pending like the sale it corrects.
A payout_mismatch (the bank's report) is resolved by payout_resolution.

Transfer ids derive from the discrepancy, the action and the currency, so they post once.

A resolution whose difference is gone (a rerun of its day no longer finds the discrepancy: the
PSP published the rest of the day or corrected its file) is reversed (`Resolver.reverse`): each
of its transfers posted back under an id of its own, marked in the note (REVERSED).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from paycore.errors import ApiError, Reason
from paycore.events import Recorder
from paycore.invariants import invariant
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.balances import BalanceBook
from paycore.payout.models import BalanceStatus
from paycore.reconciliation import repository
from paycore.reconciliation.books import Books, derived_transfer_id, is_merchant
from paycore.reconciliation.events import DISCREPANCY_RESOLVED
from paycore.reconciliation.models import Action, Discrepancy, Kind, Source, Status
from paycore.reconciliation.payout_resolution import (
    PayoutResolutions,
    follows_bank,
    residual_transfers,
    resolution_transfer,
    unfit,
)
from sqlalchemy.ext.asyncio import AsyncConnection

REVERSED = "reversed ("
"""How the note of a reversed resolution starts: `reversed (<action>: <its note>); ...`."""

_COUNTER_ACCOUNT = {
    Action.ADJUST: codes.BALANCE_PENDING,
    Action.WRITE_OFF: codes.RECONCILIATION_WRITE_OFFS,
    Action.REFUND_AT_PSP: codes.PSP_REFUNDS_DUE,
}

AUTO_NOTES = {
    Kind.DUPLICATE: "a second charge at the PSP: its money is owed back to the cardholder "
    "(psp_refunds_due)",
    Kind.FEE_MISMATCH: "the fee above (below) the contract's is claimed from (owed to) the PSP "
    "(psp_fee_claims)",
    Kind.PAYOUT_MISMATCH: "the bank finished the payout: paycore follows its report",
}


def resolves_itself(discrepancy: Discrepancy) -> bool:
    """The kinds reconciliation resolves without an operator: a duplicate charge (the money is
    the cardholder's) and a fee difference (a claim on the PSP). A timing item stays open until
    the next day's report carries it."""
    if discrepancy.kind is Kind.FEE_MISMATCH:
        return True
    if discrepancy.kind is Kind.PAYOUT_MISMATCH:
        return follows_bank(discrepancy)
    return discrepancy.kind is Kind.DUPLICATE and discrepancy.line_type == "charge"


@dataclass(frozen=True, slots=True)
class Resolver:
    _books: Books
    _events: Recorder[Discrepancy]
    _balances: BalanceBook
    _payouts: PayoutResolutions

    async def resolve(
        self,
        connection: AsyncConnection,
        discrepancy: Discrepancy,
        action: Action,
        note: str,
        failure_code: str = "",
    ) -> Discrepancy:
        """Books the action's transfers and closes the discrepancy (which must be open and
        locked by the caller's transaction). `failure_code`: the bank's, for a payout it
        reported failed."""
        if discrepancy.status is not Status.OPEN:
            raise ApiError(
                Reason.DISCREPANCY_RESOLVED,
                param="id",
                id=discrepancy.id,
                action=discrepancy.action.value if discrepancy.action else "",
            )
        if discrepancy.source is Source.BANK_PAYOUTS:  # payout_mismatch, a payout's timing
            transfer_ids = await self._payouts.resolve(
                connection, discrepancy, action=action, code=failure_code
            )
        else:
            transfer_ids = await self._book(connection, discrepancy, action)
        resolved = await repository.mark_resolved(
            connection, discrepancy.merchant_id, discrepancy.id, action, note, transfer_ids
        )
        await self._events.record(connection, DISCREPANCY_RESOLVED, resolved)
        return resolved

    async def reverse(
        self, connection: AsyncConnection, discrepancy: Discrepancy, run_id: str
    ) -> Discrepancy:
        """Posts back the transfers that resolved `discrepancy` (an operator's action or the
        automatic rule; locked by the caller's transaction), which `run_id`, a rerun of its
        day, no longer found: the difference they settled is gone. It stays resolved, `auto`,
        with both sets of transfers."""
        action = discrepancy.action or Action.AUTO
        invariant(discrepancy.action is not None, "a resolved discrepancy has its action")
        reversals = [
            dataclasses.replace(
                transfer,
                id=derived_transfer_id(
                    discrepancy.merchant_id, discrepancy.day, f"reversal:{transfer.id}"
                ),
                debit_account_id=transfer.credit_account_id,
                credit_account_id=transfer.debit_account_id,
            )
            for transfer in await self._transfers(connection, discrepancy, action)
        ]
        await self._post(connection, discrepancy, action, reversals)
        note = (
            f"{REVERSED}{action.value}: {discrepancy.note}); not found again by {run_id}:"
            " the report and paycore agree"
        )
        transfer_ids = [*discrepancy.ledger_transfer_ids, *(t.id for t in reversals)]
        return await repository.mark_resolved(
            connection, discrepancy.merchant_id, discrepancy.id, Action.AUTO, note, transfer_ids
        )

    async def _book(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action
    ) -> list[str]:
        transfers = await self._transfers(connection, discrepancy, action)
        await self._post(connection, discrepancy, action, transfers)
        return [transfer.id for transfer in transfers]

    async def _post(
        self,
        connection: AsyncConnection,
        discrepancy: Discrepancy,
        action: Action,
        transfers: Sequence[TransferRequest],
    ) -> None:
        if action is not Action.ADJUST:
            await self._books.post(connection, discrepancy.merchant_id, transfers)
            return
        # The merchant's pending balance follows the PSP: each transfer with its row.
        pending = {}
        for transfer in transfers:
            accounts = await self._books.accounts(
                connection, discrepancy.merchant_id, transfer.currency, (codes.BALANCE_PENDING,)
            )
            pending[transfer.id] = accounts[codes.BALANCE_PENDING.code]
        await self._balances.adjust(
            connection,
            discrepancy.merchant_id,
            account="",
            moves=[
                (transfer, balance_gain(transfer, pending[transfer.id])) for transfer in transfers
            ],
            status=BalanceStatus.PENDING,
            description=f"reconciliation: {discrepancy.kind.value} {discrepancy.id}",
        )

    async def _transfers(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action
    ) -> Sequence[TransferRequest]:
        if action is Action.IGNORE or (action is Action.AUTO and discrepancy.kind is Kind.TIMING):
            return []
        if not is_merchant(discrepancy.merchant_id):
            raise unfit(action, discrepancy, "no merchant to book for; only ignore fits")
        if discrepancy.kind is Kind.FEE_MISMATCH:
            return await self._fee_claim(connection, discrepancy, action)
        residual = discrepancy.receivable_residual()
        counter = _COUNTER_ACCOUNT.get(Action.REFUND_AT_PSP if action is Action.AUTO else action)
        if counter is None:
            raise unfit(action, discrepancy, "no automatic rule for this kind")
        if action is Action.REFUND_AT_PSP and any(amount > 0 for amount in residual.values()):
            raise unfit(action, discrepancy, "the PSP holds no money of this item to refund")
        return await residual_transfers(
            self._books,
            connection,
            discrepancy,
            action,
            residual,
            into=counter,
            out_of=codes.PSP_RECEIVABLE,
        )

    async def _fee_claim(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action
    ) -> Sequence[TransferRequest]:
        if action not in (Action.AUTO, Action.WRITE_OFF):
            raise unfit(action, discrepancy, "a fee difference is claimed or written off")
        if action is Action.WRITE_OFF:
            return []  # psp_fees already holds the fee the PSP took: the expense stands
        currency = discrepancy.psp_currency
        accounts = await self._books.accounts(
            connection, discrepancy.merchant_id, currency, (codes.PSP_FEE_CLAIMS, codes.PSP_FEES)
        )
        transfer = resolution_transfer(
            discrepancy,
            action,
            currency,
            discrepancy.psp_fee - discrepancy.internal_fee,
            into=accounts[codes.PSP_FEE_CLAIMS.code],
            out_of=accounts[codes.PSP_FEES.code],
        )
        return [] if transfer is None else [transfer]


def balance_gain(transfer: TransferRequest, account_id: str) -> int:
    """What `transfer` adds to the balance of `account_id` (a liability: credits add)."""
    return transfer.amount if transfer.credit_account_id == account_id else -transfer.amount
