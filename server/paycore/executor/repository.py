"""Executions and their attempts on the merchant's shard (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paycore.executor.models import (
    Attempt,
    AttemptKind,
    AttemptOutcome,
    Execution,
    ExecutionState,
    NewExecution,
    Operation,
    PspAnswer,
)
from paycore.storage.pagination import newest_first
from paycore.storage.schema import execution_attempts, executions
from sqlalchemy import Row, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

e = executions
a = execution_attempts


class ExecutionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, execution_id: str, new: NewExecution, due_in_seconds: float) -> None:
        await self._connection.execute(
            insert(e).values(
                merchant_id=new.merchant_id,
                id=execution_id,
                operation=new.operation.value,
                payment_intent_id=new.payment_intent_id,
                payment_order_id=new.payment_order_id,
                refund_id=new.refund_id,
                amount=new.amount,
                currency=new.currency,
                payment_method_id=new.payment_method_id,
                psp_charge=new.psp_charge,
                psp_key=new.psp_key,
                state=ExecutionState.QUEUED.value,
                next_attempt_at=func.now() + _seconds(due_in_seconds),
                metadata=new.metadata,
            )
        )

    async def lock(
        self, merchant_id: str, execution_id: str, *, wait: bool = False
    ) -> Execution | None:
        """The execution, locked for this transaction; without `wait`, None when another
        transaction holds it (SKIP LOCKED: a runner claiming work never waits for another)."""
        row = (
            await self._connection.execute(
                _columns()
                .where(e.c.merchant_id == merchant_id, e.c.id == execution_id)
                .with_for_update(skip_locked=not wait)
            )
        ).one_or_none()
        return None if row is None else _execution(row)

    async def get(self, merchant_id: str | None, execution_id: str) -> Execution | None:
        query = _columns().where(e.c.id == execution_id)
        if merchant_id is not None:
            query = query.where(e.c.merchant_id == merchant_id)
        row = (await self._connection.execute(query)).one_or_none()
        if row is None:
            return None
        attempts = (
            await self._connection.execute(
                select(a)
                .where(a.c.merchant_id == row.merchant_id, a.c.execution_id == execution_id)
                .order_by(a.c.number)
            )
        ).all()
        return _execution(row, tuple(_attempt(found) for found in attempts))

    async def find(
        self,
        merchant_id: str | None,
        limit: int,
        starting_after: str,
        *,
        state: ExecutionState | None = None,
        payment_order_id: str = "",
        payment_intent_id: str = "",
    ) -> list[Execution]:
        query = _columns()
        if merchant_id:
            query = query.where(e.c.merchant_id == merchant_id)
        if state is not None:
            query = query.where(e.c.state == state.value)
        if payment_order_id:
            query = query.where(e.c.payment_order_id == payment_order_id)
        if payment_intent_id:
            query = query.where(e.c.payment_intent_id == payment_intent_id)
        rows = await self._connection.execute(newest_first(query, e.c.id, limit, starting_after))
        return [_execution(row) for row in rows.all()]

    async def due(self, limit: int) -> list[tuple[str, str]]:
        """(merchant, execution) pairs a worker should run: due retries and unknown outcomes,
        and running executions whose runner's lease ran out."""
        rows = await self._connection.execute(
            select(e.c.merchant_id, e.c.id)
            .where(
                or_(
                    (e.c.state.in_(["queued", "retry_scheduled", "unknown_outcome"]))
                    & (e.c.next_attempt_at <= func.now()),
                    (e.c.state == "running") & (e.c.lease_until < func.now()),
                )
            )
            .order_by(e.c.next_attempt_at)
            .limit(limit)
        )
        return [(row.merchant_id, row.id) for row in rows.all()]

    async def update_state(
        self,
        execution: Execution,
        state: ExecutionState,
        *,
        next_attempt_in: float | None = None,
        lease_seconds: float | None = None,
        attempt_count: int | None = None,
        answer: PspAnswer | None = None,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "updated_at": func.now()}
        values["next_attempt_at"] = (
            None if next_attempt_in is None else func.now() + _seconds(next_attempt_in)
        )
        values["lease_until"] = (
            None if lease_seconds is None else func.now() + _seconds(lease_seconds)
        )
        if attempt_count is not None:
            values["attempt_count"] = attempt_count
        if answer is not None:
            values["psp_reference"] = answer.reference
            values["result"] = {
                "reference": answer.reference,
                "status": answer.status,
                "amount": answer.amount,
                "decline_code": answer.decline_code,
                "message": answer.message,
            }
        if failure_code is not None:
            values["failure_code"] = failure_code
        if failure_message is not None:
            values["failure_message"] = failure_message
        await self._connection.execute(
            update(e)
            .where(e.c.merchant_id == execution.merchant_id, e.c.id == execution.id)
            .values(**values)
        )

    async def start_attempt(self, execution: Execution, kind: AttemptKind) -> int:
        """Records the next attempt as in flight; returns its number."""
        owned = (a.c.merchant_id == execution.merchant_id) & (a.c.execution_id == execution.id)
        following = select(func.coalesce(func.max(a.c.number), 0) + 1).where(owned)
        number = (
            await self._connection.execute(
                insert(a)
                .from_select(
                    ["merchant_id", "execution_id", "number", "kind", "started_at", "outcome"],
                    select(
                        literal(execution.merchant_id),
                        literal(execution.id),
                        following.scalar_subquery(),
                        literal(kind.value),
                        func.now(),
                        literal(AttemptOutcome.IN_FLIGHT.value),
                    ),
                )
                .returning(a.c.number)
            )
        ).scalar_one()
        return int(number)

    async def finish_attempt(
        self,
        execution: Execution,
        number: int | None,
        outcome: AttemptOutcome,
        error_code: str = "",
        error_message: str = "",
    ) -> bool:
        """Closes attempt `number`, or (None) whichever attempt is in flight; False when it is
        no longer in flight (another runner closed it when it took over)."""
        condition = (
            (a.c.merchant_id == execution.merchant_id)
            & (a.c.execution_id == execution.id)
            & (a.c.outcome == AttemptOutcome.IN_FLIGHT.value)
        )
        if number is not None:
            condition &= a.c.number == number
        result = await self._connection.execute(
            update(a)
            .where(condition)
            .values(
                finished_at=func.now(),
                outcome=outcome.value,
                error_code=error_code,
                error_message=error_message,
            )
        )
        return bool(result.rowcount)


def _seconds(value: float) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, value)


def _columns() -> Any:
    return select(e)


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _execution(row: Row[Any], attempts: tuple[Attempt, ...] = ()) -> Execution:
    result = row.result
    return Execution(
        id=row.id,
        merchant_id=row.merchant_id,
        operation=Operation(row.operation),
        payment_intent_id=row.payment_intent_id,
        payment_order_id=row.payment_order_id,
        refund_id=row.refund_id,
        amount=row.amount,
        currency=row.currency,
        payment_method_id=row.payment_method_id,
        psp_charge=row.psp_charge,
        psp_key=row.psp_key,
        state=ExecutionState(row.state),
        attempt_count=row.attempt_count,
        next_attempt=_epoch(row.next_attempt_at),
        lease_until=_epoch(row.lease_until),
        psp_reference=row.psp_reference,
        answer=None if result is None else PspAnswer(**result),
        failure_code=row.failure_code,
        failure_message=row.failure_message,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
        attempts=attempts,
    )


def _attempt(row: Row[Any]) -> Attempt:
    return Attempt(
        number=row.number,
        kind=AttemptKind(row.kind),
        started=row.started_at.timestamp(),
        finished=_epoch(row.finished_at),
        outcome=AttemptOutcome(row.outcome),
        error_code=row.error_code,
        error_message=row.error_message,
    )
