"""The first phase of a payment intent created and confirmed in one call, as one statement.

A create-and-confirm that the fraud check lets through commits, in its first phase, the intent
(already `processing`, naming its execution), its two events (created, processing), the charge's
execution already claimed for its first request and that attempt in flight. Done one statement
at a time that is six round trips; here it is one data-modifying CTE, the rows built in Python
beforehand (the intent's `created` included, so its events render what is stored). Each table's
owner provides its part: the intent's insert (PayInRepository's), the events'
(paycore.events.repository.EventsInsert), the execution's and its attempt's
(paycore.executor.repository.ClaimedInsert); the request's idempotency key, when it has one,
joins the same statement (paycore.storage.idempotency). The result is the same rows the
step-by-step path writes (paycore.payment.intents.confirm with Executor.enqueue_claimed), which
every other path still takes.
"""

from __future__ import annotations

from dataclasses import replace

from paycore.events.models import NewEvent
from paycore.events.repository import EventsInsert
from paycore.executor.models import Execution
from paycore.executor.repository import ClaimedInsert
from paycore.invariants import invariant
from paycore.payment.machine import check_move
from paycore.payment.models import Intent, IntentStatus, Risk
from paycore.payment.repository import INSERT_INTENT, encode_intent
from paycore.storage.raw import Parts, write_joined
from sqlalchemy.ext.asyncio import AsyncConnection

_EVENTS = EventsInsert(INSERT_INTENT.next)
_EXECUTION = ClaimedInsert(_EVENTS.next)
# The key's insert joins this statement when the request has one (storage.raw.write_joined).
_RECORD = Parts((INSERT_INTENT.cte("intent"), _EVENTS.part, *_EXECUTION.parts), _EXECUTION.next)


def charging(intent: Intent, payment_method_id: str, risk: Risk, execution: Execution) -> Intent:
    """The created intent once confirmed: processing, its execution named."""
    check_move(intent, IntentStatus.PROCESSING)
    return replace(
        intent,
        status=IntentStatus.PROCESSING,
        payment_method_id=payment_method_id,
        risk=risk,
        last_error=None,
        execution_id=execution.id,
    )


async def record_charging(
    connection: AsyncConnection,
    intent: Intent,
    events: list[NewEvent],
    execution: Execution,
    lease_seconds: float,
) -> None:
    """Writes the confirmed intent (`charging`), its events and its claimed execution
    (Executor.claim_new) in the caller's transaction."""
    invariant(
        execution.id == intent.execution_id and execution.attempt_count == 1,
        "the intent's charge is its own execution, claimed for its first attempt",
    )
    await write_joined(
        connection,
        _RECORD,
        *encode_intent(intent),
        *EventsInsert.arguments(intent.merchant_id, events),
        *ClaimedInsert.arguments(execution.id, execution, lease_seconds),
    )
