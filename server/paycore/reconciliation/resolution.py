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

Transfer ids derive from the discrepancy, the action and the currency, so they post once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from google.protobuf.message import Message
from paycore.errors import ApiError, Reason
from paycore.events import record_event
from paycore.ids import MalformedId, Prefix, logical_shard_of
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.reconciliation import repository
from paycore.reconciliation.books import Books, day_tag, derived_transfer_id, movement
from paycore.reconciliation.models import Action, Discrepancy, Kind, Status
from sqlalchemy.ext.asyncio import AsyncConnection

RenderDiscrepancy = Callable[[Discrepancy], Message]

RESOLVED_EVENT = "reconciliation.discrepancy.resolved"

_COUNTER_ACCOUNT = {
    Action.ADJUST: codes.BALANCE_PENDING.code,
    Action.WRITE_OFF: codes.RECONCILIATION_WRITE_OFFS.code,
    Action.REFUND_AT_PSP: codes.PSP_REFUNDS_DUE.code,
}

AUTO_NOTES = {
    Kind.DUPLICATE: "a second charge at the PSP: its money is owed back to the cardholder "
    "(psp_refunds_due)",
    Kind.FEE_MISMATCH: "the fee above (below) the contract's is claimed from (owed to) the PSP "
    "(psp_fee_claims)",
}


def resolves_itself(discrepancy: Discrepancy) -> bool:
    """The kinds reconciliation resolves without an operator: a duplicate charge (the money is
    the cardholder's) and a fee difference (a claim on the PSP). A timing item stays open until
    the next day's report carries it."""
    if discrepancy.kind is Kind.FEE_MISMATCH:
        return True
    return discrepancy.kind is Kind.DUPLICATE and discrepancy.line_type == "charge"


def is_merchant(owner: str) -> bool:
    try:
        logical_shard_of(owner, Prefix.ACCOUNT)
    except MalformedId:
        return False
    return True


class Resolver:
    def __init__(self, books: Books, render: RenderDiscrepancy) -> None:
        self._books = books
        self._render = render

    async def resolve(
        self,
        connection: AsyncConnection,
        discrepancy: Discrepancy,
        action: Action,
        note: str,
    ) -> Discrepancy:
        """Books the action's transfers and closes the discrepancy (which must be open and
        locked by the caller's transaction)."""
        if discrepancy.status is not Status.OPEN:
            raise ApiError(
                Reason.DISCREPANCY_RESOLVED,
                param="id",
                id=discrepancy.id,
                action=discrepancy.action.value if discrepancy.action else "",
            )
        transfers = await self._transfers(connection, discrepancy, action)
        await self._books.post(connection, discrepancy.merchant_id, transfers)
        resolved = await repository.mark_resolved(
            connection,
            discrepancy.merchant_id,
            discrepancy.id,
            action,
            note,
            [transfer.id for transfer in transfers],
        )
        await self.record(connection, resolved)
        return resolved

    def render(self, discrepancy: Discrepancy) -> Message:
        return self._render(discrepancy)

    async def record(self, connection: AsyncConnection, discrepancy: Discrepancy) -> None:
        await record_event(
            connection,
            discrepancy.merchant_id,
            RESOLVED_EVENT,
            self._render(discrepancy),
            logical_shard=None if is_merchant(discrepancy.merchant_id) else 0,
        )

    async def _transfers(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action
    ) -> Sequence[TransferRequest]:
        if action is Action.IGNORE or (action is Action.AUTO and discrepancy.kind is Kind.TIMING):
            return []
        if not is_merchant(discrepancy.merchant_id):
            raise _unfit(action, discrepancy, "no merchant to book for; only ignore fits")
        if discrepancy.kind is Kind.FEE_MISMATCH:
            return await self._fee_claim(connection, discrepancy, action)
        residual = discrepancy.receivable_residual()
        counter_code = _COUNTER_ACCOUNT.get(
            Action.REFUND_AT_PSP if action is Action.AUTO else action
        )
        if counter_code is None:
            raise _unfit(action, discrepancy, "no automatic rule for this kind")
        if action is Action.REFUND_AT_PSP and any(amount > 0 for amount in residual.values()):
            raise _unfit(action, discrepancy, "the PSP holds no money of this item to refund")
        transfers = []
        for currency, amount in sorted(residual.items()):
            accounts = await self._books.accounts(connection, discrepancy.merchant_id, currency)
            transfer = movement(
                _transfer_id(discrepancy, action, currency),
                into=accounts[counter_code],
                out_of=accounts[codes.PSP_RECEIVABLE.code],
                amount=amount,
                currency=currency,
                code=codes.TRANSFER_ADJUSTMENT,
                tag=day_tag(discrepancy.source.value, discrepancy.day),
                source=discrepancy.id,
            )
            if transfer is not None:
                transfers.append(transfer)
        return transfers

    async def _fee_claim(
        self, connection: AsyncConnection, discrepancy: Discrepancy, action: Action
    ) -> Sequence[TransferRequest]:
        if action not in (Action.AUTO, Action.WRITE_OFF):
            raise _unfit(action, discrepancy, "a fee difference is claimed or written off")
        if action is Action.WRITE_OFF:
            return []  # psp_fees already holds the fee the PSP took: the expense stands
        currency = discrepancy.psp_currency
        accounts = await self._books.accounts(connection, discrepancy.merchant_id, currency)
        transfer = movement(
            _transfer_id(discrepancy, action, currency),
            into=accounts[codes.PSP_FEE_CLAIMS.code],
            out_of=accounts[codes.PSP_FEES.code],
            amount=discrepancy.psp_fee - discrepancy.internal_fee,
            currency=currency,
            code=codes.TRANSFER_ADJUSTMENT,
            tag=day_tag(discrepancy.source.value, discrepancy.day),
            source=discrepancy.id,
        )
        return [] if transfer is None else [transfer]


def _transfer_id(discrepancy: Discrepancy, action: Action, currency: str) -> str:
    return derived_transfer_id(
        discrepancy.merchant_id, discrepancy.day, f"{discrepancy.id}:{action.value}:{currency}"
    )


def _unfit(action: Action, discrepancy: Discrepancy, detail: str) -> ApiError:
    return ApiError(
        Reason.DISCREPANCY_ACTION_UNFIT,
        param="action",
        action=action.value,
        id=discrepancy.id,
        detail=detail,
    )
