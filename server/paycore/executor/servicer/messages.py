"""Executions rendered as their proto messages."""

from __future__ import annotations

from paycore.contracts import enum_number
from paycore.executor.models import Execution
from paycore.runtime.messages import converts
from paycore.v1 import executor_pb2


@converts(executor_pb2.Execution)
def execution_message(execution: Execution) -> executor_pb2.Execution:
    return executor_pb2.Execution(
        id=execution.id,
        merchant=execution.merchant_id,
        payment_order=execution.payment_order_id or "",
        payment_intent=execution.payment_intent_id or "",
        refund=execution.refund_id or "",
        operation=enum_number(
            executor_pb2.ExecutionOperation, "EXECUTION_OPERATION", execution.operation
        ),
        amount=execution.amount,
        currency=execution.currency,
        payment_method=execution.payment_method_id or "",
        state=enum_number(executor_pb2.ExecutionState, "EXECUTION_STATE", execution.state),
        attempts=[
            executor_pb2.Execution.Attempt(
                number=attempt.number,
                kind=enum_number(
                    executor_pb2.ExecutionAttemptKind, "EXECUTION_ATTEMPT_KIND", attempt.kind
                ),
                started=int(attempt.started),
                finished=int(attempt.finished or 0),
                duration_ms=int(((attempt.finished or attempt.started) - attempt.started) * 1000),
                outcome=enum_number(
                    executor_pb2.ExecutionAttemptOutcome,
                    "EXECUTION_ATTEMPT_OUTCOME",
                    attempt.outcome,
                ),
                error_code=attempt.error_code,
                error_message=attempt.error_message,
            )
            for attempt in execution.attempts
        ],
        idempotency_key=execution.psp_key,
        psp_reference=execution.psp_reference,
        next_attempt=int(execution.next_attempt or 0),
        failure_code=execution.failure_code,
        failure_message=execution.failure_message,
        created=execution.created,
        metadata=execution.metadata,
    )
