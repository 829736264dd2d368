"""What a dispute does to the balance its charge credited (the disputed charge's owner's,
paycore.dispute.charges: the merchant's for a payment intent, the seller's for a checkout
payment order), through the balance book that pay-in and pay-out write with
(paycore.payout.balances), in the caller's transaction:

    chargeback opens   balance_pending -> psp_receivable (the amount) and -> fees_revenue (the
                       fee): one balance transaction, type adjustment, amount -amount, fee,
                       net -(amount + fee); due at once, so the pending balance (which may go
                       negative) and the availability job settle it
    won                psp_receivable -> balance_pending (the amount; and fees_revenue ->
                       balance_pending, the fee, when PAYCORE_DISPUTE_FEE_RETURNED_ON_WIN):
                       one balance transaction, amount +amount, fee -fee returned; due at
                       once, but never available before the withdrawal it reverses (the
                       availability job holds it with the withdrawal's available_on)
    lost, inquiries    nothing moves

A converted charge's dispute (issue 19) moves the balance in its settlement currency, at the
charge's own rate, against the pair's FX clearing account instead of psp_receivable
(paycore.currency.settlement.Conversions.chargeback books the presentment side and the
rounding); its rows show the rate and the presentment amount. A win gives back the same
settlement amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.currency.settlement import Chargeback, Conversions, SettledChargeback
from paycore.dispute.models import Dispute
from paycore.ledger import codes
from paycore.ledger.models import TransferRequest
from paycore.payout.balances import BalanceBook
from paycore.payout.models import BalanceStatus, BalanceType
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class DisputeMoney:
    _book: BalanceBook
    _conversions: Conversions

    def now(self) -> int:
        return self._book.now()

    async def withdraw(self, connection: AsyncConnection, dispute: Dispute) -> str:
        """Takes the amount and the fee; answers the balance transaction's id."""
        taken = await self._settled(connection, dispute, dispute.fee, reversal=False)
        return await self._move(
            connection,
            dispute,
            taken,
            reversal=False,
            description=f"Chargeback withdrawal for {dispute.psp_charge}",
        )

    async def reinstate(self, connection: AsyncConnection, dispute: Dispute, fee: int) -> str:
        """Gives the amount back (and `fee`, 0 when the fee stays); answers the balance
        transaction's id."""
        given = await self._settled(connection, dispute, fee, reversal=True)
        return await self._move(
            connection,
            dispute,
            given,
            reversal=True,
            description=f"Chargeback reversal for {dispute.psp_charge}",
        )

    async def _settled(
        self, connection: AsyncConnection, dispute: Dispute, fee: int, *, reversal: bool
    ) -> SettledChargeback:
        """The amount and `fee` in the currency the balance moves in (a converted charge's
        presentment side booked on the way)."""
        chargeback = Chargeback(
            dispute.id, dispute.charge_id, dispute.amount, dispute.currency, fee, dispute.account
        )
        converted = await self._conversions.chargeback(
            connection, dispute.merchant_id, chargeback, reversal=reversal
        )
        return converted or SettledChargeback(dispute.amount, fee, dispute.currency)

    async def _move(
        self,
        connection: AsyncConnection,
        dispute: Dispute,
        moved: SettledChargeback,
        *,
        reversal: bool,
        description: str,
    ) -> str:
        """The amount and the fee out of the pending balance (a reversal: back into it), and
        one row for both, naming the amount's transfer."""
        book, merchant_id = self._book, dispute.merchant_id
        accounts = await book.accounts(connection, merchant_id, dispute.account, moved.currency)
        await book.lock(connection, merchant_id, accounts)
        legs = (
            (
                codes.TRANSFER_DISPUTE_REVERSAL if reversal else codes.TRANSFER_DISPUTE,
                moved.amount,
                moved.counter or accounts.psp_receivable,
            ),
            (
                codes.TRANSFER_DISPUTE_FEE_REVERSAL if reversal else codes.TRANSFER_DISPUTE_FEE,
                moved.fee,
                accounts.fees_revenue,
            ),
        )
        transfers: list[TransferRequest] = []
        for code, amount, other in legs:
            if amount <= 0:
                continue
            debit, credit = (other, accounts.pending) if reversal else (accounts.pending, other)
            transfers.append(
                book.transfer(
                    merchant_id,
                    code,
                    debit=debit,
                    credit=credit,
                    amount=amount,
                    currency=moved.currency,
                    source=dispute.id,
                )
            )
        await book.post(connection, merchant_id, transfers)
        sign = 1 if reversal else -1
        row = book.row(
            merchant_id,
            dispute.account,
            transfers[0],
            BalanceType.ADJUSTMENT,
            sign * moved.amount,
            fee=-sign * moved.fee,
            status=BalanceStatus.PENDING,
            available_on=book.now(),
            description=description,
            conversion=moved.conversion,
        )
        await book.record(connection, [row])
        return str(row["id"])
