"""What a dispute does to the merchant's balance, through the balance book that pay-in and
pay-out write with (paycore.payout.balances), in the caller's transaction:

    chargeback opens   balance_pending -> psp_receivable (the amount) and -> fees_revenue (the
                       fee): one balance transaction, type adjustment, amount -amount, fee,
                       net -(amount + fee); due at once, so the pending balance (which may go
                       negative) and the availability job settle it
    won                psp_receivable -> balance_pending (the amount; and fees_revenue ->
                       balance_pending, the fee, when PAYCORE_DISPUTE_FEE_RETURNED_ON_WIN):
                       one balance transaction, amount +amount, fee -fee returned
    lost, inquiries    nothing moves
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.dispute.models import Dispute
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.balances import BalanceBook
from paycore.payout.models import MERCHANT, BalanceStatus, BalanceType
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class DisputeMoney:
    _book: BalanceBook

    def now(self) -> int:
        return self._book.now()

    async def withdraw(self, connection: AsyncConnection, dispute: Dispute) -> str:
        """Takes the amount and the fee; answers the balance transaction's id."""
        return await self._move(
            connection,
            dispute,
            [
                (codes.TRANSFER_DISPUTE, dispute.amount, "out", "psp_receivable"),
                (codes.TRANSFER_DISPUTE_FEE, dispute.fee, "out", "fees_revenue"),
            ],
            amount=-dispute.amount,
            fee=dispute.fee,
            description=f"Chargeback withdrawal for {dispute.psp_charge}",
        )

    async def reinstate(self, connection: AsyncConnection, dispute: Dispute, fee: int) -> str:
        """Gives the amount back (and `fee`, 0 when the fee stays); answers the balance
        transaction's id."""
        return await self._move(
            connection,
            dispute,
            [
                (codes.TRANSFER_DISPUTE_REVERSAL, dispute.amount, "in", "psp_receivable"),
                (codes.TRANSFER_DISPUTE_FEE_REVERSAL, fee, "in", "fees_revenue"),
            ],
            amount=dispute.amount,
            fee=-fee,
            description=f"Chargeback reversal for {dispute.psp_charge}",
        )

    async def _move(
        self,
        connection: AsyncConnection,
        dispute: Dispute,
        legs: list[tuple[str, int, str, str]],
        *,
        amount: int,
        fee: int,
        description: str,
    ) -> str:
        """`legs`: (transfer code, amount, "out" of the pending balance or "in", the platform
        account on the other side). One row for them all, naming the first transfer."""
        book, merchant_id = self._book, dispute.merchant_id
        accounts = await book.accounts(connection, merchant_id, MERCHANT, dispute.currency)
        await book.lock(connection, merchant_id, accounts)
        platform = {
            "psp_receivable": accounts.psp_receivable,
            "fees_revenue": accounts.fees_revenue,
        }
        transfers: list[TransferRequest] = []
        for code, leg_amount, direction, other in legs:
            if leg_amount <= 0:
                continue
            debit, credit = accounts.pending, platform[other]
            if direction == "in":
                debit, credit = credit, debit
            transfers.append(
                book.transfer(
                    merchant_id,
                    code,
                    debit=debit,
                    credit=credit,
                    amount=leg_amount,
                    currency=dispute.currency,
                    source=dispute.id,
                )
            )
        await book.post(connection, merchant_id, transfers)
        row = book.row(
            merchant_id,
            MERCHANT,
            transfers[0],
            BalanceType.ADJUSTMENT,
            amount,
            fee=fee,
            status=BalanceStatus.PENDING,
            available_on=book.now(),
            description=description,
        )
        await book.record(connection, [row])
        return str(row["id"])
