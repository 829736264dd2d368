"""Application fees (fee_, docs/connect.md): what a platform kept on each destination charge,
read from what pay-in booked (the captured intent's application_fee_amount, and what its
refunds with refund_application_fee and the fee's own refunds gave back). A fee's id is its
charge's under the fee_ prefix, turned back into the charge's to read it.

A fee's own refunds (fr_, Stripe's application fee refunds) are stored: each gives the seller
back some of the fee, from the platform's balance (available as far as it goes, then pending)
to the seller's available balance, `application_fee_refund` on both sides: in the settlement
currency at the charge's locked rate when the charge was converted, and across the seller's
settlement currency when its share crossed into it (paycore.currency.crossing). A refund locks the
charge's intent (as every refund of the charge does first), so what all of them give back,
the charge's refunds with refund_application_fee included, never passes the fee."""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.account.repository import SELLER_ACCOUNTS
from paycore.currency.conversion import convert_down, part_of_booked
from paycore.currency.crossing import Crossings, Move
from paycore.currency.settlement import Conversions
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import Recorder
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import violated
from paycore.ledger import codes
from paycore.payment.events import APPLICATION_FEE_REFUNDED
from paycore.payment.models import (
    ApplicationFee,
    ApplicationFeeFilter,
    FeeRefund,
    NewFeeRefund,
)
from paycore.payment.repository import (
    APPLICATION_FEES,
    FEE_REFUNDS,
    PAYMENT_INTENTS,
    PayInRepository,
    application_fees_query,
    charge_of_fee,
    fee_refunded_directly,
    fee_refunds_query,
    insert_fee_refund,
    set_fee_refund_metadata,
)
from paycore.payout.balances import BalanceBook
from paycore.payout.models import MERCHANT, BalanceType
from paycore.records import MetadataChange
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection

FEE_REFUND_UPDATED = "application_fee.refund.updated"


@dataclass(frozen=True, slots=True)
class ApplicationFees:
    _reads: Reads
    _book: BalanceBook
    _events: Recorder[ApplicationFee]
    _conversions: Conversions
    _crossings: Crossings
    _refund_events: Recorder[FeeRefund]

    async def get(self, merchant_id: str, fee_id: str) -> ApplicationFee:
        charge = charge_of_fee(fee_id)
        return await self._reads.find(
            merchant_id,
            lambda connection: APPLICATION_FEES.fetch(connection, merchant_id, charge),
            APPLICATION_FEES.name,
            fee_id,
        )

    async def list(
        self, merchant_id: str, cursor: Cursor, wanted: ApplicationFeeFilter
    ) -> Page[ApplicationFee]:
        by_charge = replace(
            cursor,
            starting_after=charge_of_fee(cursor.starting_after),
            ending_before=charge_of_fee(cursor.ending_before),
        )
        named = [
            Named("payment_intent", PAYMENT_INTENTS, wanted.payment_intent_id),
            Named("account", SELLER_ACCOUNTS, wanted.account),
        ]
        query = application_fees_query(merchant_id, wanted)
        return await self._reads.page(merchant_id, APPLICATION_FEES, by_charge, query, named)

    # -- the fee's own refunds (fr_) -------------------------------------------------------------

    async def refunds(self, merchant_id: str, fee_id: str, cursor: Cursor) -> Page[FeeRefund]:
        """A fee's refunds, newest first; NOT_FOUND naming `id` when the merchant has no such
        fee."""
        await self.get(merchant_id, fee_id)
        query = fee_refunds_query(merchant_id, charge_of_fee(fee_id))
        return await self._reads.page(merchant_id, FEE_REFUNDS, cursor, query, [])

    async def refund_of(self, merchant_id: str, fee_id: str, refund_id: str) -> FeeRefund:
        """One refund of the fee; one of another fee (or none) is NOT_FOUND naming `refund`."""
        await self.get(merchant_id, fee_id)
        found = await self._reads.one(merchant_id, FEE_REFUNDS, refund_id, "refund")
        if found.payment_intent_id != charge_of_fee(fee_id):
            raise not_found(FEE_REFUNDS.name, refund_id, "refund")
        return found

    async def refund(
        self, connection: AsyncConnection, merchant_id: str, fee_id: str, new: NewFeeRefund
    ) -> FeeRefund:
        """Gives back `new.amount` (None: all that is left) of the fee to its seller, under the
        charge's intent's lock: never past what the charge's refunds (not failed) and the fee's
        own left of it (AMOUNT_TOO_LARGE; nothing left: CHARGE_ALREADY_REFUNDED)."""
        charge = charge_of_fee(fee_id)
        repository = PayInRepository(connection)
        intent = await repository.intent(merchant_id, charge, lock=True)
        if intent is None:
            raise not_found(APPLICATION_FEES.name, fee_id)
        fee = await APPLICATION_FEES.fetch(connection, merchant_id, charge)
        if fee is None:
            raise not_found(APPLICATION_FEES.name, fee_id)
        _, by_charge_refunds = await repository.fee_refunded(merchant_id, charge)
        left = (
            fee.amount
            - by_charge_refunds
            - await fee_refunded_directly(connection, merchant_id, charge)
        )
        if left <= 0 and new.amount is None:
            raise ApiError(
                Reason.CHARGE_ALREADY_REFUNDED, param="id", object="application_fee", id=fee_id
            )
        amount = left if new.amount is None else new.amount
        if amount > left:
            if left <= 0:
                raise ApiError(
                    Reason.CHARGE_ALREADY_REFUNDED,
                    param="id",
                    object="application_fee",
                    id=fee_id,
                )
            raise ApiError(
                Reason.AMOUNT_TOO_LARGE,
                param="amount",
                maximum=left,
                currency=fee.currency,
            )
        refund_id = new_merchant_id(Prefix.APPLICATION_FEE_REFUND, merchant_id)
        # A charge converted for the platform kept its fee in the settlement currency at the
        # charge's locked rate, rounded half up: the part given back is the difference it makes
        # to the value of what is left of the fee given back by nobody yet, so the parts add up
        # to what was kept (each rounded down on its own, the platform kept a unit or so).
        currency, moved = fee.currency, amount
        locked = await self._conversions.locked(connection, merchant_id, charge, MERCHANT)
        if locked is not None:
            currency = locked.currency
            _, given = await repository.moved_back(merchant_id, charge, "")
            unmoved = left + by_charge_refunds - given
            moved = part_of_booked(
                amount,
                unmoved,
                locked.rate,
                fee.currency,
                currency,
                half_up=True,
                cap=convert_down(
                    intent.amount_received, locked.rate, fee.currency, currency
                ).amount,
            )
            if not moved:
                raise invalid("amount", f"{amount} {fee.currency} converts to 0 {currency}")
        rows = await self._crossings.move(
            connection,
            merchant_id,
            Move(
                fee.account,
                True,
                moved,
                currency,
                charge,
                refund_id,
                codes.TRANSFER_APPLICATION_FEE_REFUND,
                BalanceType.APPLICATION_FEE_REFUND,
                f"refund of application fee {fee_id}",
                to_available=True,
            ),
        )
        platform_rows = [row["id"] for row in rows if row["account"] == MERCHANT]
        if not platform_rows:
            violated(f"{refund_id}: no balance transaction of the platform")
        refund = FeeRefund(
            id=refund_id,
            merchant_id=merchant_id,
            created=self._book.now(),
            payment_intent_id=charge,
            amount=amount,
            currency=fee.currency,
            balance_transaction=platform_rows[0],
            metadata=new.metadata,
        )
        await insert_fee_refund(connection, refund)
        refunded = await APPLICATION_FEES.fetch(connection, merchant_id, charge)
        if refunded is None:
            violated(f"{fee_id} vanished")
        await self._events.record(connection, APPLICATION_FEE_REFUNDED, refunded)
        return refund

    async def update_refund(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        fee_id: str,
        refund_id: str,
        metadata: MetadataChange,
    ) -> FeeRefund:
        """Stripe's update of a fee refund: its metadata alone, on the refund locked;
        application_fee.refund.updated when it changed. One of another fee (or none) is
        NOT_FOUND naming `refund`."""
        found = await FEE_REFUNDS.fetch(connection, merchant_id, refund_id, lock=True)
        if found is None or found.payment_intent_id != charge_of_fee(fee_id):
            raise not_found(FEE_REFUNDS.name, refund_id, "refund")
        changed = metadata.applied_to(found.metadata)
        if changed == found.metadata:
            return found  # an update that changes nothing is no event (as at Stripe)
        updated = replace(found, metadata=changed)
        await set_fee_refund_metadata(connection, updated)
        await self._refund_events.record(connection, FEE_REFUND_UPDATED, updated, before=found)
        return updated
