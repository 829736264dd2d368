"""Refunds, full or partial, several per payment, never more than was captured: the refund's
first phase locks the intent (or order) and reserves its amount against what remains, so
concurrent refunds queue on that row and the reservations can never add up past it.

A refund of a destination charge may also take the seller's share back (`reverse_transfer`) and
give the seller back the application fee in proportion (`refund_application_fee`), as
Stripe's: its transfer is the whole charge (the fee comes back from the seller), so a reversal
is the refund's own amount, and the fee's share is cumulative and floored (`fee_share`). Both
are decided in the first phase, under the intent's lock, and booked with the refund's money
when the PSP has refunded it (paycore.payment.completion)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events.outbox import record_prepared
from paycore.executor.models import ExecutionState, NewExecution, Operation
from paycore.executor.service import Executor
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import violated
from paycore.payment import events
from paycore.payment.events import PayInEvents
from paycore.payment.models import Intent, IntentStatus, OrderStatus, Refund, RefundStatus
from paycore.payment.repository import (
    PAYMENT_INTENTS,
    PAYMENT_ORDERS,
    REFUNDS,
    PayInRepository,
    fee_refunded_directly,
    refunds_query,
)
from paycore.records import MetadataChange
from paycore.runtime.mutations import Complete, FinalAnswer, Phases
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class NewRefund:
    """A refund as asked for: of an intent or of a payment order (exactly one)."""

    payment_intent_id: str
    payment_order_id: str
    amount: int | None
    """None: everything that remains refundable."""
    reason: str
    metadata: dict[str, str]
    reverse_transfer: bool = False
    refund_application_fee: bool = False
    charge_id: str = ""
    """The PSP's "ch_..." when the request named the refund by it (Stripe's `charge`)."""

    @property
    def param(self) -> str:
        """The field the request named the refunded charge by, which its refusals name."""
        if self.charge_id:
            return "charge"
        return "payment_intent" if self.payment_intent_id else "payment_order"


class _Charged(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> IntentStatus | OrderStatus: ...
    @property
    def disputed(self) -> bool: ...


ChargedT = TypeVar("ChargedT", bound=_Charged)


def _refundable(found: ChargedT | None, kind: str, object_id: str, param: str) -> ChargedT:
    """The intent or order (`kind`) a refund is of, which the request named by `param`:
    NOT_FOUND when the merchant has none of that id, CHARGE_NOT_REFUNDABLE unless it
    succeeded, CHARGE_DISPUTED when its charge is disputed."""
    if found is None:
        raise not_found(kind, object_id, param)
    if found.status not in (IntentStatus.SUCCEEDED, OrderStatus.SUCCEEDED):
        raise ApiError(
            Reason.CHARGE_NOT_REFUNDABLE,
            param=param,
            object=kind,
            id=found.id,
            status=found.status.value,
        )
    if found.disputed:  # a chargeback took the charge back through the bank already
        raise ApiError(Reason.CHARGE_DISPUTED, param=param, object=kind, id=found.id)
    return found


def _to_refund(new: NewRefund, remaining: int) -> int:
    """What `new` refunds of the `remaining` refundable: its amount, or (none given) all that
    remains. "All that remains" of nothing is CHARGE_ALREADY_REFUNDED naming the charged
    object (the caller sent no amount to blame); any other amount beyond what remains is
    REFUND_EXCEEDS_CAPTURED."""
    if new.amount is None and remaining == 0:
        kind = "payment_intent" if new.payment_intent_id else "payment_order"
        charged = new.payment_intent_id or new.payment_order_id
        raise ApiError(Reason.CHARGE_ALREADY_REFUNDED, param=new.param, object=kind, id=charged)
    wanted = remaining if new.amount is None else new.amount
    if wanted > remaining or wanted <= 0:
        raise ApiError(
            Reason.REFUND_EXCEEDS_CAPTURED, param="amount", amount=wanted, remaining=remaining
        )
    return wanted


def fee_share(fee: int, received: int, refunded_before: int, given_before: int, amount: int) -> int:
    """The application fee a refund of `amount` gives back, of a charge of `received` that
    kept `fee`, when the charge's earlier refunds that asked for it (not failed) refunded
    `refunded_before` and gave back `given_before`: the fee's share of everything those
    refunds and this one refund, floor((refunded_before + amount) x fee / received), less what
    was given back already. So at every point the fee given back is the floored share of the
    amount refunded, no minor unit lost or made, and the refund that completes the charge takes
    exactly the rest of the fee; never below 0 nor past the fee (a failed refund in the middle
    of a series can leave the shares given a unit ahead)."""
    due = (refunded_before + amount) * fee // received
    return max(0, min(fee - given_before, due - given_before))


def _destination(intent: Intent | None, new: NewRefund) -> Intent | None:
    """The destination charge a refund asks to reverse, or None when it asks for neither;
    INVALID_ARGUMENT naming the flag when the charge has no transfer to a seller."""
    asked = [
        name
        for name, flag in (
            ("reverse_transfer", new.reverse_transfer),
            ("refund_application_fee", new.refund_application_fee),
        )
        if flag
    ]
    if not asked:
        return None
    if intent is None or not intent.transfer_destination:
        raise invalid(asked[0], "only a destination charge (transfer_data.destination) has one")
    return intent


@dataclass(frozen=True, slots=True)
class Refunds:
    _reads: Reads
    _executor: Executor
    _events: PayInEvents

    async def get(self, merchant_id: str, refund_id: str) -> Refund:
        return await self._reads.one(merchant_id, REFUNDS, refund_id)

    async def list(
        self,
        merchant_id: str,
        cursor: Cursor,
        payment_intent_id: str,
        payment_order_id: str,
    ) -> Page[Refund]:
        query = refunds_query(merchant_id, payment_intent_id, payment_order_id)
        named = [
            Named("payment_intent", PAYMENT_INTENTS, payment_intent_id),
            Named("payment_order", PAYMENT_ORDERS, payment_order_id),
        ]
        return await self._reads.page(merchant_id, REFUNDS, cursor, query, named)

    async def update(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        refund_id: str,
        metadata: MetadataChange,
    ) -> Refund:
        """UpdateRefund: the metadata alone, whatever the refund's status (as at Stripe), on
        the refund locked against its completion; refund.updated when it changed. The status
        the completion writes is another column, so neither change undoes the other."""
        repository = PayInRepository(connection)
        refund = await repository.refund(merchant_id, refund_id, lock=True)
        if refund is None:
            raise not_found("refund", refund_id)
        changed = metadata.applied_to(refund.metadata)
        if changed == refund.metadata:
            return refund  # an update that changes nothing is no event (as at Stripe)
        updated = replace(refund, metadata=changed)
        await repository.update_refund(refund, metadata=changed)
        await record_prepared(
            connection,
            [
                self._events.refund.prepared(events.REFUND_UPDATED, updated, before=refund),
                self._events.refund.prepared(events.CHARGE_REFUND_UPDATED, updated, before=refund),
            ],
        )
        return updated

    async def cancel(self, connection: AsyncConnection, merchant_id: str, refund_id: str) -> Refund:
        """CancelRefund: a pending refund whose execution never reached the PSP (withdrawn in
        this transaction) is canceled, `merchant_request`, and its reservation given back; no
        money moved yet (the completion books a refund's money), so none moves back.
        refund.updated and charge.refund.updated, with the pending status as it was."""
        repository = PayInRepository(connection)
        refund = await repository.refund(merchant_id, refund_id, lock=True)
        if refund is None:
            raise not_found("refund", refund_id)
        if refund.status is not RefundStatus.PENDING:
            detail = f"it is {refund.status.value}; only a pending refund not yet sent is"
            raise ApiError(Reason.REFUND_NOT_CANCELABLE, param="id", id=refund_id, detail=detail)
        if not refund.execution_id or not await self._executor.withdraw(
            connection, merchant_id, refund.execution_id
        ):
            raise ApiError(
                Reason.REFUND_NOT_CANCELABLE,
                param="id",
                id=refund_id,
                detail=await self._why_sent(merchant_id, refund.execution_id),
            )
        updated = await release_refund(
            repository, refund, RefundStatus.CANCELED, CANCELED_BY_MERCHANT
        )
        await record_prepared(
            connection,
            [
                self._events.refund.prepared(events.REFUND_UPDATED, updated, before=refund),
                self._events.refund.prepared(events.CHARGE_REFUND_UPDATED, updated, before=refund),
            ],
        )
        return updated

    async def _why_sent(self, merchant_id: str, execution_id: str | None) -> str:
        """Why a pending refund cannot be withdrawn: it is being sent to the PSP, or every
        attempt failed and it waits dead-lettered (the PSP's outcome not known for certain)
        for an operator, who requeues it."""
        if execution_id:
            execution = await self._executor.get(merchant_id, execution_id)
            if execution.state is ExecutionState.DEAD_LETTERED:
                return (
                    "it was sent to the PSP and dead-lettered after every attempt failed;"
                    " an operator requeues it (RequeueDeadLetter)"
                )
        return "it is being sent to the PSP"

    def phases(self, merchant_id: str, new: NewRefund) -> Phases[Refund]:
        refund_id = new_merchant_id(Prefix.REFUND, merchant_id)

        async def record(connection: AsyncConnection) -> Refund:
            repository = PayInRepository(connection)
            intent, order = None, None
            if new.payment_intent_id:
                intent = _refundable(
                    await repository.intent(merchant_id, new.payment_intent_id, lock=True),
                    "payment_intent",
                    new.payment_intent_id,
                    new.param,
                )
                paid, refunded, currency = (
                    intent.amount_received,
                    intent.amount_refunded,
                    intent.currency,
                )
                charge = intent.psp_charge
            else:
                order = _refundable(
                    await repository.order(merchant_id, new.payment_order_id, lock=True),
                    "payment_order",
                    new.payment_order_id,
                    new.param,
                )
                paid, refunded, currency = order.amount, order.amount_refunded, order.currency
                charge = order.psp_reference
            destination = _destination(intent, new)
            wanted = _to_refund(new, paid - refunded)
            reversed_, fee_given = None, None
            if destination is not None:
                reversed_ = wanted if new.reverse_transfer else None
                if new.refund_application_fee:
                    before, given = await repository.fee_refunded(merchant_id, destination.id)
                    fee_given = fee_share(
                        destination.application_fee_amount, paid, before, given, wanted
                    )
                    # -- the fee's own refunds (fr_) took their part of it already.
                    direct = await fee_refunded_directly(connection, merchant_id, destination.id)
                    fee_left = destination.application_fee_amount - given - direct
                    fee_given = max(0, min(fee_given, fee_left))
            if intent is not None:
                await repository.update_intent(intent, amount_refunded=refunded + wanted)
            if order is not None:
                await repository.update_order(order, amount_refunded=refunded + wanted)
            pending = replace(
                pending_refund(merchant_id, refund_id, new, wanted, currency),
                transfer_reversal_amount=reversed_,
                application_fee_refund_amount=fee_given,
            )
            return await record_refund(connection, self._executor, self._events, pending, charge)

        return Phases(record, self.completion(merchant_id))

    def completion(self, merchant_id: str) -> Complete[Refund]:
        async def complete(refund_id: str, final: FinalAnswer[Refund]) -> Refund:
            refund = await self.get(merchant_id, refund_id)
            if refund.status is RefundStatus.PENDING and refund.execution_id:
                await self._executor.run(merchant_id, refund.execution_id)
                refund = await self.get(merchant_id, refund_id)
            return refund

        return complete


CANCELED_BY_MERCHANT = "merchant_request"
"""A canceled refund's failure_reason (Stripe's)."""


async def release_refund(
    repository: PayInRepository, refund: Refund, status: RefundStatus, failure_reason: str
) -> Refund:
    """A pending refund that will not happen (failed at the PSP, or canceled) moved to
    `status`, its reservation of the refundable amount given back on its intent or order
    (locked here)."""
    merchant_id = refund.merchant_id
    if refund.payment_order_id:
        order = await repository.order(merchant_id, refund.payment_order_id, lock=True)
        if order is not None:
            await repository.update_order(
                order, amount_refunded=order.amount_refunded - refund.amount
            )
    if refund.payment_intent_id:
        intent = await repository.intent(merchant_id, refund.payment_intent_id, lock=True)
        if intent is not None:
            await repository.update_intent(
                intent, amount_refunded=intent.amount_refunded - refund.amount
            )
    await repository.update_refund(refund, status=status.value, failure_reason=failure_reason)
    updated = await repository.refund(merchant_id, refund.id)
    if updated is None:
        violated(f"refund {refund.id} vanished")
    return updated


def pending_refund(
    merchant_id: str, refund_id: str, new: NewRefund, amount: int, currency: str
) -> Refund:
    """The refund `new` asks for, of `amount` (already reserved), as its first phase stores it:
    pending, before its execution exists."""
    return Refund(
        id=refund_id,
        merchant_id=merchant_id,
        payment_intent_id=new.payment_intent_id or None,
        payment_order_id=new.payment_order_id or None,
        amount=amount,
        currency=currency,
        reason=new.reason,
        status=RefundStatus.PENDING,
        failure_reason="",
        execution_id=None,
        metadata=new.metadata,
        created=0,
    )


async def record_refund(
    connection: AsyncConnection,
    executor: Executor,
    events_of: PayInEvents,
    refund: Refund,
    psp_charge: str | None,
) -> Refund:
    """The first phase of a refund whose amount is already reserved on its intent or order:
    its execution enqueued, the refund stored `pending` with it, and `refund.created`."""
    execution_id = await executor.enqueue(
        connection,
        NewExecution(
            merchant_id=refund.merchant_id,
            operation=Operation.REFUND,
            amount=refund.amount,
            currency=refund.currency,
            psp_key="",
            payment_intent_id=refund.payment_intent_id,
            payment_order_id=refund.payment_order_id,
            refund_id=refund.id,
            psp_charge=psp_charge,
        ),
    )
    repository = PayInRepository(connection)
    await repository.insert_refund(replace(refund, execution_id=execution_id))
    stored = await repository.refund(refund.merchant_id, refund.id)
    if stored is None:
        violated(f"refund {refund.id} vanished")
    await events_of.refund.record(connection, events.REFUND_CREATED, stored)
    return stored
