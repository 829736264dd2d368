"""Separate charges and transfers (docs/connect.md): the platform (the merchant) moves money
from its own balance to one of its seller accounts' (tr_), and takes some or all of it back
(trr_, a transfer reversal). Stripe's Transfers API.

    transfer            platform balance_available -> seller balance_available   amount
      following a charge whose funds are pending (source_transaction):
                        platform balance_pending -> seller balance_pending, both rows due
                        when the charge's funds are (its available_on)
    reversal            seller balance (available as far as it goes, then pending) ->
                        platform balance_available at once, as at Stripe (BalanceBook.move)

A seller that settles in another currency gets the transfer converted into it at the newest
rate, and gives a reversal back at that locked rate (paycore.currency.crossing).

A transfer following a charge without a transfer_group of its own takes the charge's; a charge
without one is given `group_<pi>` first (Stripe's rule), which the transfer takes.

Balance transactions: `transfer` on the platform's side and `payment` on the seller's (as
Stripe's connected account sees a transfer), `transfer_reversal` on both sides of a reversal.
The platform's balance accounts are locked (id order, as the ledger locks) before they are
read, so transfers racing one balance take their turns and never overdraw it: more than the
balance holds is BALANCE_INSUFFICIENT and moves nothing. The transfer's row, its money, its
balance transactions and its event commit together (the caller's transaction, Mutations').
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.currency.crossing import Crossing, Crossings, Move, Side
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import Recorder
from paycore.ids import Prefix, new_merchant_id
from paycore.ledger import codes
from paycore.payout.availability import Availability
from paycore.payout.balances import BalanceBook
from paycore.payout.bank_accounts import require_account
from paycore.payout.events import TRANSFER_CREATED, TRANSFER_REVERSED, TRANSFER_UPDATED
from paycore.payout.models import (
    MERCHANT,
    BalanceStatus,
    BalanceType,
    NewTransfer,
    NewTransferReversal,
    Transfer,
    TransferChange,
    TransferReversal,
)
from paycore.payout.repository import CHARGE_PREFIX, ChargeFunds, TransferRepository
from paycore.records import MetadataChange
from sqlalchemy.ext.asyncio import AsyncConnection

# A source_transaction naming a charge (CHARGE_PREFIX), as Stripe's, is resolved to its pi_.


@dataclass(frozen=True, slots=True)
class Transfers:
    _book: BalanceBook
    _events: Recorder[Transfer]
    _availability: Availability
    # -- a seller settling in another currency gets a transfer converted into it, and gives a
    # reversal back at that rate (paycore.currency.crossing).
    _crossings: Crossings

    async def create(
        self, connection: AsyncConnection, merchant_id: str, new: NewTransfer
    ) -> Transfer:
        await require_account(connection, merchant_id, new.destination, param="destination")
        crossings = self._crossings
        await crossings.check(connection, merchant_id, new.destination, new.currency, "destination")
        await self._availability.settle(connection, merchant_id)
        repository = TransferRepository(connection)
        if new.source_transaction.startswith(CHARGE_PREFIX):
            intent_id = await repository.intent_of_charge(merchant_id, new.source_transaction)
            if intent_id is None:
                raise invalid("source_transaction", "it names no succeeded charge of yours")
            new = replace(new, source_transaction=intent_id)
        funds = await self._source_funds(repository, merchant_id, new)
        if funds is not None and not new.transfer_group:
            # Stripe's: the charge's group (made up as group_<pi> when it has none).
            group = await repository.charge_group(merchant_id, new.source_transaction)
            new = replace(new, transfer_group=group)
        book = self._book
        platform = await book.accounts(connection, merchant_id, MERCHANT, new.currency)
        seller = await book.accounts(connection, merchant_id, new.destination, new.currency)
        balance, _ = await book.lock_many(connection, [platform, seller])
        follows_pending = funds is not None and funds.status == BalanceStatus.PENDING.value
        if follows_pending:
            room = balance.pending
            debit, credit = platform.pending, seller.pending
        else:
            room = balance.available + min(0, balance.pending)
            debit, credit = platform.available, seller.available
        if new.amount > room:
            raise ApiError(
                Reason.BALANCE_INSUFFICIENT,
                param="amount",
                amount=new.amount,
                currency=new.currency,
                available=max(0, room),
            )
        transfer_id = new_merchant_id(Prefix.TRANSFER, merchant_id)
        status = BalanceStatus.PENDING if follows_pending else BalanceStatus.AVAILABLE
        available_on = funds.available_on if funds is not None and follows_pending else None
        sides = (
            (MERCHANT, BalanceType.TRANSFER, -new.amount, f"transfer to {new.destination}"),
            (new.destination, BalanceType.PAYMENT, new.amount, "transfer from the platform"),
        )
        rate = await crossings.newest(connection, merchant_id, new.destination, new.currency)
        if rate is not None:
            platform_side, seller_side = (
                Side(kind, debit, status, available_on, description)
                for _, kind, _, description in sides
            )
            rows = await crossings.to_seller(
                connection,
                merchant_id,
                Crossing(new.destination, new.amount, rate, transfer_id, codes.TRANSFER_TRANSFER),
                platform_side,
                seller_side,
            )
        else:
            posted = book.transfer(
                merchant_id,
                codes.TRANSFER_TRANSFER,
                debit=debit,
                credit=credit,
                amount=new.amount,
                currency=new.currency,
                source=transfer_id,
            )
            rows = [
                book.row(
                    merchant_id,
                    account,
                    posted,
                    kind,
                    signed,
                    status=status,
                    available_on=available_on,
                    source=transfer_id,
                    description=description,
                )
                for account, kind, signed, description in sides
            ]
            await book.post(connection, merchant_id, [posted])
            await book.record(connection, rows)
        transfer = Transfer(
            **vars(new),
            id=transfer_id,
            merchant_id=merchant_id,
            created=book.now(),
            amount_reversed=0,
            balance_transaction=rows[0]["id"],
        )
        await repository.insert(transfer)
        await self._events.record(connection, TRANSFER_CREATED, transfer)
        return transfer

    async def _source_funds(
        self, repository: TransferRepository, merchant_id: str, new: NewTransfer
    ) -> ChargeFunds | None:
        """The funds of the charge the transfer follows (None: it follows none); the charge's
        row is locked, so transfers following one charge never take more than it received."""
        if not new.source_transaction:
            return None
        funds = await repository.charge_funds(merchant_id, new.source_transaction)
        if funds is None:
            raise invalid("source_transaction", "it names no succeeded charge of yours")
        if funds.currency != new.currency:
            raise invalid("currency", f"the source transaction's funds are in {funds.currency}")
        left = funds.amount - await repository.transferred_from(merchant_id, new.source_transaction)
        if new.amount > left:
            raise ApiError(
                Reason.AMOUNT_TOO_LARGE,
                param="amount",
                maximum=max(0, left),
                currency=new.currency,
            )
        return funds

    async def reverse(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        transfer_id: str,
        new: NewTransferReversal,
    ) -> TransferReversal:
        """Takes back `new.amount` (0: all not reversed yet), never more than the transfer
        has left; the transfer is locked, so concurrent reversals take their turns."""
        repository = TransferRepository(connection)
        transfer = await repository.get(merchant_id, transfer_id, lock=True)
        if transfer is None:
            raise not_found("transfer", transfer_id)
        left = transfer.amount - transfer.amount_reversed
        if left == 0:
            raise ApiError(Reason.TRANSFER_ALREADY_REVERSED, param="id", id=transfer_id)
        amount = new.amount or left
        if amount > left:
            raise ApiError(
                Reason.AMOUNT_TOO_LARGE,
                param="amount",
                maximum=left,
                currency=transfer.currency,
            )
        reversal = TransferReversal(
            id=new_merchant_id(Prefix.TRANSFER_REVERSAL, merchant_id),
            merchant_id=merchant_id,
            created=self._book.now(),
            transfer_id=transfer.id,
            amount=amount,
            currency=transfer.currency,
            description=new.description,
            metadata=new.metadata,
        )
        await self._move_back(connection, transfer, reversal)
        reversal = replace(
            reversal,
            balance_transaction=await repository.reversal_transaction(merchant_id, reversal.id),
        )
        reversed_transfer = replace(
            transfer,
            amount_reversed=transfer.amount_reversed + amount,
            reversals=(reversal, *transfer.reversals),
        )
        await repository.set_reversed(reversed_transfer)
        await repository.insert_reversal(reversal)
        await self._events.record(connection, TRANSFER_REVERSED, reversed_transfer)
        return reversal

    async def _move_back(
        self, connection: AsyncConnection, transfer: Transfer, reversal: TransferReversal
    ) -> None:
        """The reversal's money, from the seller's balance to the platform's available one; at
        the transfer's locked rate when it crossed into the seller's settlement currency."""
        await self._crossings.move(
            connection,
            transfer.merchant_id,
            Move(
                transfer.destination,
                False,
                reversal.amount,
                transfer.currency,
                transfer.id,
                reversal.id,
                codes.TRANSFER_TRANSFER_REVERSAL,
                BalanceType.TRANSFER_REVERSAL,
                f"reversal of {transfer.id}",
                to_available=True,
            ),
        )

    async def update_reversal(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        transfer_id: str,
        reversal_id: str,
        metadata: MetadataChange,
    ) -> TransferReversal:
        """UpdateTransferReversal: the metadata alone (Stripe's update of a reversal takes no
        other field), on the transfer locked against its reversals; NOT_FOUND naming `id` for a
        transfer not the merchant's, `reversal` for a reversal not that transfer's. Stripe
        records no event for it, nor does paycore."""
        repository = TransferRepository(connection)
        transfer = await repository.get(merchant_id, transfer_id, lock=True)
        if transfer is None:
            raise not_found("transfer", transfer_id)
        reversal = next((one for one in transfer.reversals if one.id == reversal_id), None)
        if reversal is None:
            raise not_found("transfer_reversal", reversal_id, "reversal")
        changed = metadata.applied_to(reversal.metadata)
        if changed == reversal.metadata:
            return reversal
        updated = replace(reversal, metadata=changed)
        await repository.set_reversal_metadata(updated)
        return updated

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        transfer_id: str,
        change: TransferChange,
    ) -> Transfer:
        """UpdateTransfer: the description and metadata; transfer.updated when they changed."""
        repository = TransferRepository(connection)
        transfer = await repository.get(merchant_id, transfer_id, lock=True)
        if transfer is None:
            raise not_found("transfer", transfer_id)
        description = transfer.description if change.description is None else change.description
        updated = replace(
            transfer,
            metadata=change.metadata.applied_to(transfer.metadata),
            description=description,
        )
        if updated == transfer:
            return transfer  # an update that changes nothing is no event (as at Stripe)
        await repository.set_details(updated)
        await self._events.record(connection, TRANSFER_UPDATED, updated, before=transfer)
        return updated
