"""The disputed charge's owner, whichever API created the charge: a payment intent (pi_) or a
checkout payment order (pord_). The rest of the dispute code works over this, never over one
of them: the PSP's charge (to check the feed's news against), whose balance the dispute's money
moves, what the fraud check scored (the outcome's label), and the owner's `disputed` flag (its
refunds refused: paycore.payment.refunds).

    payment intent   the merchant's own balance; fraud scored the intent
    payment order    the balance the order credited, its seller's: an order is one PSP charge
                     paying one seller (a checkout of several sellers is several charges, each
                     disputed on its own), and that seller took its capture, fee and refunds,
                     so it takes its chargeback, as Stripe debits the connected account a
                     direct charge was made on; fraud scored the order's payment (pay_), the
                     whole checkout
"""

from __future__ import annotations

from dataclasses import dataclass

from paycore.ids import Prefix
from paycore.payment.models import Intent, Order
from paycore.payment.repository import PayInRepository
from paycore.payout.models import MERCHANT
from sqlalchemy.ext.asyncio import AsyncConnection

_OWNERS = (f"{Prefix.PAYMENT_INTENT}_", f"{Prefix.PAYMENT_ORDER}_")


@dataclass(frozen=True)
class DisputedCharge:
    payment_intent_id: str
    """The intent whose charge it is ("" for an order's)."""
    payment_order_id: str
    """The checkout payment order whose charge it is ("" for an intent's)."""
    psp_charge: str
    account: str
    """The balance the charge credited (MERCHANT, "": the merchant's own; else a seller's)."""
    scored: str
    """What the fraud check scored: the intent, or the order's payment."""


def is_charge_owner(reference: str) -> bool:
    """Whether `reference` (what paycore sent the PSP with a charge) names a charge's owner."""
    return reference.startswith(_OWNERS)


async def disputed_charge(
    connection: AsyncConnection, merchant_id: str, owner_id: str, *, lock: bool = False
) -> DisputedCharge | None:
    """The charge of `owner_id` (pi_ or pord_), its owner row locked with `lock`; None when the
    merchant has no such intent or order."""
    payments = PayInRepository(connection)
    if owner_id.startswith(f"{Prefix.PAYMENT_ORDER}_"):
        order = await payments.order(merchant_id, owner_id, lock=lock)
        return None if order is None else _of_order(order)
    if owner_id.startswith(f"{Prefix.PAYMENT_INTENT}_"):
        intent = await payments.intent(merchant_id, owner_id, lock=lock)
        return None if intent is None else _of_intent(intent)
    return None


async def mark_disputed(connection: AsyncConnection, merchant_id: str, owner_id: str) -> None:
    """The owner shows `disputed: true` from now on (a chargeback took its charge back)."""
    payments = PayInRepository(connection)
    if owner_id.startswith(f"{Prefix.PAYMENT_ORDER}_"):
        order = await payments.order(merchant_id, owner_id, lock=True)
        if order is not None and not order.disputed:
            await payments.update_order(order, disputed=True)
        return
    intent = await payments.intent(merchant_id, owner_id, lock=True)
    if intent is not None and not intent.disputed:
        await payments.update_intent(intent, disputed=True)


def _of_intent(intent: Intent) -> DisputedCharge:
    return DisputedCharge(
        payment_intent_id=intent.id,
        payment_order_id="",
        psp_charge=intent.psp_charge or "",
        account=MERCHANT,
        scored=intent.id,
    )


def _of_order(order: Order) -> DisputedCharge:
    return DisputedCharge(
        payment_intent_id="",
        payment_order_id=order.id,
        psp_charge=order.psp_reference,
        account=order.seller_account,
        scored=order.payment_id,
    )
