"""The first phase of a payment intent created and confirmed in one call, as one statement.

A create-and-confirm that the fraud check lets through commits, in its first phase, the intent
(already `processing`, naming its execution), its two events (created, processing), the charge's
execution already claimed for its first request and that attempt in flight. Done one statement
at a time that is six round trips; here it is one data-modifying CTE, the rows built in Python
beforehand (the intent's `created_at` included, so its events render what is stored). The
result is the same rows the step-by-step path writes (PaymentIntents._record_confirmation with
Executor.enqueue_claimed), which every other path still takes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from paycore.events.outbox import NewEvent
from paycore.executor.models import AttemptKind, AttemptOutcome, Execution
from paycore.payment.models import Intent, IntentStatus, NewIntent, Risk
from paycore.storage.raw import driver_of, jsonb
from sqlalchemy.ext.asyncio import AsyncConnection

_RECORD = """
WITH intent AS (
  INSERT INTO payment_intents (merchant_id, id, amount, currency, status, capture_method,
    customer_id, payment_method_id, transfer_destination, application_fee_amount, description,
    metadata, risk, execution_id, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
), event AS (
  INSERT INTO events (merchant_id, id, type, object_id, object_type, data)
  SELECT $1, i, t, o, ot, d::jsonb
  FROM unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::text[])
       AS u(i, t, o, ot, d)
), execution AS (
  INSERT INTO executions (merchant_id, id, operation, payment_intent_id, amount, currency,
    payment_method_id, psp_charge, psp_key, state, attempt_count, lease_until, metadata)
  VALUES ($1, $14, $21, $2, $22, $4, $8, $23, $24, $25, $26,
          now() + $27::float8 * interval '1 second', $28)
), attempt AS (
  INSERT INTO execution_attempts (merchant_id, execution_id, number, kind, started_at, outcome)
  VALUES ($1, $14, 1, $29, now(), $30)
)
SELECT 1
"""


def created_intent(
    merchant_id: str, intent_id: str, new: NewIntent, status: IntentStatus, created: datetime
) -> Intent:
    """The intent as `PayInRepository.insert_intent` would store it, at `created`."""
    return Intent(
        id=intent_id,
        merchant_id=merchant_id,
        amount=new.amount,
        currency=new.currency,
        status=status,
        capture_method=new.capture_method,
        customer_id=new.customer_id,
        payment_method_id=new.payment_method_id,
        amount_capturable=0,
        amount_received=0,
        amount_refunded=0,
        fee=0,
        transfer_destination=new.transfer_destination,
        application_fee_amount=new.application_fee_amount,
        description=new.description,
        last_error=None,
        risk=None,
        psp_charge=None,
        hold_transfer_id=None,
        execution_id=None,
        canceled_at=None,
        cancellation_reason=None,
        metadata=dict(new.metadata),
        created=int(created.timestamp()),
    )


def charging(intent: Intent, payment_method_id: str, risk: Risk, execution: Execution) -> Intent:
    """The created intent once confirmed: processing, its execution named."""
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
    created: datetime,
    events: list[NewEvent],
    execution: Execution,
    lease_seconds: float,
) -> None:
    """Writes the confirmed intent (`charging`), its events and its claimed execution
    (Executor.claim_new) in the caller's transaction."""
    assert execution.id == intent.execution_id and execution.attempt_count == 1
    driver = await driver_of(connection)
    await driver.execute(
        _RECORD,
        intent.merchant_id,
        intent.id,
        intent.amount,
        intent.currency,
        intent.status.value,
        intent.capture_method.value,
        intent.customer_id,
        intent.payment_method_id,
        intent.transfer_destination,
        intent.application_fee_amount,
        intent.description,
        jsonb(intent.metadata),
        jsonb(intent.risk.to_json() if intent.risk else None),
        execution.id,
        created,
        [event.id for event in events],
        [event.type for event in events],
        [event.object_id for event in events],
        [event.object_type for event in events],
        [jsonb(event.data) for event in events],
        execution.operation.value,
        execution.amount,
        execution.psp_charge,
        execution.psp_key,
        execution.state.value,
        execution.attempt_count,
        lease_seconds,
        jsonb(execution.metadata),
        AttemptKind.REQUEST.value,
        AttemptOutcome.IN_FLIGHT.value,
    )
