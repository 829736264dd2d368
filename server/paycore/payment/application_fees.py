"""Application fees (fee_, docs/connect.md): what a platform kept on each destination charge,
read from what pay-in booked (the captured intent's application_fee_amount, and what its
refunds with refund_application_fee gave back). Nothing is stored for them: a fee's id is its
charge's under the fee_ prefix, turned back into the charge's to read it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from paycore.account.repository import SELLER_ACCOUNTS
from paycore.payment.models import ApplicationFee, ApplicationFeeFilter
from paycore.payment.repository import (
    APPLICATION_FEES,
    PAYMENT_INTENTS,
    application_fees_query,
    charge_of_fee,
)
from paycore.storage.reads import Cursor, Named, Page, Reads


@dataclass(frozen=True, slots=True)
class ApplicationFees:
    _reads: Reads

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
