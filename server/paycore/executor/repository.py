"""Executions and their attempts on the merchant's shard.

A payment's steps (insert, lock, state changes, attempts) are asyncpg statements
(paycore.storage.raw); the listings and the worker's queue read through SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from paycore.executor.models import (
    Attempt,
    AttemptKind,
    AttemptOutcome,
    Execution,
    ExecutionFilter,
    ExecutionState,
    NewExecution,
    Operation,
    PspAnswer,
)
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.reads import matching
from paycore.storage.rows import Decoder
from paycore.storage.schema import execution_attempts, executions
from paycore.storage.statements import Insert, with_parts
from sqlalchemy import Select, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

e = executions
a = execution_attempts
# The columns a new execution is written with, in the order `_new_arguments` gives them.
_NEW_COLUMNS = [
    "merchant_id",
    "id",
    "operation",
    "payment_intent_id",
    "payment_order_id",
    "refund_id",
    "amount",
    "currency",
    "payment_method_id",
    "psp_charge",
    "psp_key",
    "state",
]
_SECONDS_FROM_NOW = "now() + {}::float8 * interval '1 second'"
_INSERT = Insert(
    e,
    [*_NEW_COLUMNS, "next_attempt_at", "metadata"],
    expressions={"next_attempt_at": _SECONDS_FROM_NOW},
).sql


class ClaimedInsert:
    """An execution inserted already claimed for its first request (running, leased, attempt 1
    in flight): what a claim would make of a queued one, as two parts of a WITH (`execution`,
    `attempt`) whose parameters start at `start`. The executor owns these rows; a statement
    that writes an execution beside rows of its own (paycore.payment.charging) composes this."""

    def __init__(self, start: int = 1, returning: str = "") -> None:
        self.execution = Insert(
            e,
            [*_NEW_COLUMNS, "attempt_count", "lease_until", "metadata"],
            start,
            expressions={"attempt_count": "1", "lease_until": _SECONDS_FROM_NOW},
            returning=returning,
        )
        self.attempt = Insert(
            a,
            ["merchant_id", "execution_id", "number", "kind", "started_at", "outcome"],
            self.execution.next,
            expressions={"number": "1", "started_at": "now()"},
        )
        self.parts = [self.execution.cte("execution"), self.attempt.cte("attempt")]
        self.next = self.attempt.next

    @staticmethod
    def arguments(execution_id: str, new: NewExecution, lease_seconds: float) -> list[Any]:
        return [
            *_new_arguments(execution_id, new, ExecutionState.RUNNING),
            lease_seconds,
            jsonb(new.metadata),
            new.merchant_id,
            execution_id,
            AttemptKind.REQUEST.value,
            AttemptOutcome.IN_FLIGHT.value,
        ]


_CLAIMED = ClaimedInsert(returning="*")
_INSERT_CLAIMED = with_parts(_CLAIMED.parts, "SELECT * FROM execution")
_LOCK = "SELECT * FROM executions WHERE merchant_id = $1 AND id = $2 FOR UPDATE"
_LOCK_SKIPPING = f"{_LOCK} SKIP LOCKED"
# A value left NULL ($6-$10) leaves its column as it was; the two moments are set or cleared.
_UPDATE_STATE = """
UPDATE executions SET state = $3, updated_at = now(),
  next_attempt_at = now() + $4::float8 * interval '1 second',
  lease_until = now() + $5::float8 * interval '1 second',
  attempt_count = coalesce($6::int4, attempt_count),
  psp_reference = coalesce($7::text, psp_reference),
  result = coalesce($8::jsonb, result),
  failure_code = coalesce($9::text, failure_code),
  failure_message = coalesce($10::text, failure_message)
WHERE merchant_id = $1 AND id = $2
"""
# A PSP call's outcome, in one statement: lock the execution (waiting), close the runner's
# attempt if it is still in flight while the execution runs, and only then move the state
# ($8: seconds to the next attempt or NULL; $9-$12 as $7-$10 of _UPDATE_STATE; $13: the
# attempt counted, else the count goes back by one).
# Under READ COMMITTED a row another runner changed meanwhile is re-checked at its newest
# version, so an attempt it closed when it took over stays closed and nothing moves.
_RECORD_OUTCOME = """
WITH current AS (
  SELECT * FROM executions WHERE merchant_id = $1 AND id = $2 FOR UPDATE
), closed AS (
  UPDATE execution_attempts
  SET finished_at = now(), outcome = $4, error_code = $5, error_message = $6
  WHERE merchant_id = $1 AND execution_id = $2 AND number = $3 AND outcome = $14
    AND EXISTS (SELECT 1 FROM current WHERE state = $15)
  RETURNING number
), moved AS (
  UPDATE executions SET state = $7, updated_at = now(),
    next_attempt_at = now() + $8::float8 * interval '1 second',
    lease_until = NULL,
    attempt_count = CASE WHEN $13::bool THEN attempt_count ELSE greatest(0, attempt_count - 1) END,
    psp_reference = coalesce($9::text, psp_reference),
    result = coalesce($10::jsonb, result),
    failure_code = coalesce($11::text, failure_code),
    failure_message = coalesce($12::text, failure_message)
  WHERE merchant_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM closed)
  RETURNING 1
)
SELECT current.*, EXISTS (SELECT 1 FROM moved) AS recorded FROM current
"""
# `_RECORD_OUTCOME` for many executions in one statement (a group commit's): one row of
# arrays per parameter of it ($1-$13 as $1-$13 there, $14 the position), the executions locked
# in the order of their ids; the answer is one row per execution found, with its position.
# The arrays pass through a materialized CTE so that no plan sees their lengths: a plan made
# for the values (unnest of a constant array counts its elements) then costs what the generic
# plan does, and PostgreSQL keeps the generic one after five executions instead of planning
# every group anew (about 1.1 ms of its CPU a group, issue 17).
_RECORD_OUTCOMES = """
WITH arrays AS MATERIALIZED (
  SELECT $1::text[] AS a1, $2::text[] AS a2, $3::int4[] AS a3, $4::text[] AS a4,
    $5::text[] AS a5, $6::text[] AS a6, $7::text[] AS a7, $8::float8[] AS a8, $9::text[] AS a9,
    $10::text[] AS a10, $11::text[] AS a11, $12::text[] AS a12, $13::bool[] AS a13,
    $14::int4[] AS a14
), given AS (
  SELECT g.* FROM arrays,
    unnest(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14)
  AS g(merchant_id, id, number, outcome, error_code, error_message, state, next_in,
    psp_reference, result, failure_code, failure_message, counted, position)
), current AS (
  SELECT executions.* FROM executions JOIN given USING (merchant_id, id)
  ORDER BY executions.id FOR UPDATE OF executions
), closed AS (
  UPDATE execution_attempts AS a
  SET finished_at = now(), outcome = g.outcome, error_code = g.error_code,
    error_message = g.error_message
  FROM given AS g
  WHERE a.merchant_id = g.merchant_id AND a.execution_id = g.id AND a.number = g.number
    AND a.outcome = $15
    AND EXISTS (SELECT 1 FROM current AS c WHERE c.id = g.id AND c.state = $16)
  RETURNING a.execution_id
), moved AS (
  UPDATE executions AS e SET state = g.state, updated_at = now(),
    next_attempt_at = now() + g.next_in * interval '1 second',
    lease_until = NULL,
    attempt_count = CASE WHEN g.counted THEN e.attempt_count
      ELSE greatest(0, e.attempt_count - 1) END,
    psp_reference = coalesce(g.psp_reference, e.psp_reference),
    result = coalesce(g.result::jsonb, e.result),
    failure_code = coalesce(g.failure_code, e.failure_code),
    failure_message = coalesce(g.failure_message, e.failure_message)
  FROM given AS g
  WHERE e.merchant_id = g.merchant_id AND e.id = g.id
    AND e.id IN (SELECT execution_id FROM closed)
  RETURNING e.id
)
SELECT current.*, g.position, current.id IN (SELECT id FROM moved) AS recorded
FROM current JOIN given AS g USING (merchant_id, id)
"""
_START_ATTEMPT = """
INSERT INTO execution_attempts (merchant_id, execution_id, number, kind, started_at, outcome)
SELECT $1, $2, coalesce(max(number), 0) + 1, $3, now(), $4
FROM execution_attempts WHERE merchant_id = $1 AND execution_id = $2
RETURNING number
"""
_FINISH_ATTEMPT = """
UPDATE execution_attempts
SET finished_at = now(), outcome = $3, error_code = $4, error_message = $5
WHERE merchant_id = $1 AND execution_id = $2 AND outcome = $6
  AND ($7::int4 IS NULL OR number = $7)
"""


@dataclass(frozen=True)
class OutcomeRecord:
    """One PSP call's outcome, as `ExecutionRepository.record_outcome` takes it."""

    merchant_id: str
    execution_id: str
    attempt: int
    outcome: AttemptOutcome
    error_code: str
    error_message: str
    state: ExecutionState
    next_attempt_in: float | None
    counted: bool
    answer: PspAnswer | None
    failure_code: str | None
    failure_message: str | None

    def values(self) -> tuple[Any, ...]:
        """The parameters $1-$13 of `_RECORD_OUTCOME` (and the columns of `_RECORD_OUTCOMES`)."""
        answer = self.answer
        return (
            self.merchant_id,
            self.execution_id,
            self.attempt,
            self.outcome.value,
            self.error_code,
            self.error_message,
            self.state.value,
            self.next_attempt_in,
            None if answer is None else answer.reference,
            None if answer is None else jsonb(_result(answer)),
            self.failure_code,
            self.failure_message,
            self.counted,
        )


class ExecutionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, execution_id: str, new: NewExecution, due_in_seconds: float) -> None:
        driver = await driver_of(self._connection)
        await driver.execute(
            _INSERT,
            *_new_arguments(execution_id, new, ExecutionState.QUEUED),
            due_in_seconds,
            jsonb(new.metadata),
        )

    async def insert_claimed(
        self, execution_id: str, new: NewExecution, lease_seconds: float
    ) -> Execution:
        """Inserts the execution running under a lease of `lease_seconds`, its first attempt (a
        request, number 1) in flight; returns it."""
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(
            _INSERT_CLAIMED, *ClaimedInsert.arguments(execution_id, new, lease_seconds)
        )
        return _execution(row)

    async def insert_claimed_many(
        self, executions: Sequence[tuple[str, NewExecution]], lease_seconds: float
    ) -> None:
        """`insert_claimed` for many, pipelined in one round trip."""
        if not executions:
            return
        driver = await driver_of(self._connection)
        await driver.executemany(
            _INSERT_CLAIMED,
            [
                ClaimedInsert.arguments(execution_id, new, lease_seconds)
                for execution_id, new in executions
            ],
        )

    async def lock(
        self, merchant_id: str, execution_id: str, *, wait: bool = False
    ) -> Execution | None:
        """The execution, locked for this transaction; without `wait`, None when another
        transaction holds it (SKIP LOCKED: a runner claiming work never waits for another)."""
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(_LOCK if wait else _LOCK_SKIPPING, merchant_id, execution_id)
        return None if row is None else _execution(row)

    async def get(self, merchant_id: str | None, execution_id: str) -> Execution | None:
        query = select(e).where(e.c.id == execution_id)
        if merchant_id is not None:
            query = query.where(e.c.merchant_id == merchant_id)
        row = (await self._connection.execute(query)).one_or_none()
        if row is None:
            return None
        (found,) = await self.with_attempts([_execution(row)])
        return found

    async def with_attempts(self, found: Sequence[Execution]) -> list[Execution]:
        """`found` (executions of this shard) each with its attempts, in order: one query."""
        if not found:
            return []
        rows = (
            await self._connection.execute(
                select(a)
                .where(
                    tuple_(a.c.merchant_id, a.c.execution_id).in_(
                        [(execution.merchant_id, execution.id) for execution in found]
                    )
                )
                .order_by(a.c.execution_id, a.c.number)
            )
        ).all()
        attempts: dict[tuple[str, str], list[Attempt]] = {}
        for row in rows:
            attempts.setdefault((row.merchant_id, row.execution_id), []).append(_attempt(row))
        return [
            replace(
                execution, attempts=tuple(attempts.get((execution.merchant_id, execution.id), ()))
            )
            for execution in found
        ]

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

    async def postpone(self, execution_ids: Sequence[str], seconds: float) -> None:
        """Moves due executions `seconds` later (never earlier than they stood): those a worker
        found due while their mode's breaker is open, so that they leave the head of `due`'s
        order and the other mode's due executions behind them are reached."""
        later = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
        await self._connection.execute(
            update(e)
            .where(
                e.c.id.in_(execution_ids),
                e.c.state.in_(["queued", "retry_scheduled", "unknown_outcome", "running"]),
            )
            .values(next_attempt_at=func.greatest(e.c.next_attempt_at, later))
        )

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
        driver = await driver_of(self._connection)
        await driver.execute(
            _UPDATE_STATE,
            execution.merchant_id,
            execution.id,
            state.value,
            next_attempt_in,
            lease_seconds,
            attempt_count,
            None if answer is None else answer.reference,
            None if answer is None else jsonb(_result(answer)),
            failure_code,
            failure_message,
        )

    async def record_outcome(self, record: OutcomeRecord) -> tuple[Execution | None, bool]:
        """Closes attempt `record.attempt` and moves the execution to `record.state` (its lease
        ends), if the execution is running and that attempt is still in flight. Returns the
        execution as it was before (locked for this transaction; None if it does not exist) and
        whether the outcome was recorded."""
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(
            _RECORD_OUTCOME,
            *record.values(),
            AttemptOutcome.IN_FLIGHT.value,
            ExecutionState.RUNNING.value,
        )
        if row is None:
            return None, False
        return _execution(row), bool(row["recorded"])

    async def record_outcomes(
        self, outcomes: Sequence[OutcomeRecord]
    ) -> list[tuple[Execution | None, bool]]:
        """`record_outcome` of each, in one statement; the answers in the same order."""
        driver = await driver_of(self._connection)
        columns: list[list[Any]] = [[] for _ in range(14)]
        for position, one in enumerate(outcomes):
            for column, value in zip(columns, (*one.values(), position), strict=True):
                column.append(value)
        rows = await driver.fetch(
            _RECORD_OUTCOMES,
            *columns,
            AttemptOutcome.IN_FLIGHT.value,
            ExecutionState.RUNNING.value,
        )
        found: list[tuple[Execution | None, bool]] = [(None, False)] * len(outcomes)
        for row in rows:
            found[row["position"]] = (_execution(row), bool(row["recorded"]))
        return found

    async def start_attempt(self, execution: Execution, kind: AttemptKind) -> int:
        """Records the next attempt as in flight; returns its number."""
        driver = await driver_of(self._connection)
        number = await driver.fetchval(
            _START_ATTEMPT,
            execution.merchant_id,
            execution.id,
            kind.value,
            AttemptOutcome.IN_FLIGHT.value,
        )
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
        driver = await driver_of(self._connection)
        status = await driver.execute(
            _FINISH_ATTEMPT,
            execution.merchant_id,
            execution.id,
            outcome.value,
            error_code,
            error_message,
            AttemptOutcome.IN_FLIGHT.value,
            number,
        )
        return bool(status != "UPDATE 0")


def _new_arguments(execution_id: str, new: NewExecution, state: ExecutionState) -> list[Any]:
    """The values of `_NEW_COLUMNS`."""
    return [
        new.merchant_id,
        execution_id,
        new.operation.value,
        new.payment_intent_id,
        new.payment_order_id,
        new.refund_id,
        new.amount,
        new.currency,
        new.payment_method_id,
        new.psp_charge,
        new.psp_key,
        state.value,
    ]


def _result(answer: PspAnswer) -> dict[str, Any]:
    return {
        "reference": answer.reference,
        "status": answer.status,
        "amount": answer.amount,
        "decline_code": answer.decline_code,
        "message": answer.message,
        **({"bypass_pending": True} if answer.bypass_pending else {}),
        **({"network_token": answer.network_token} if answer.network_token else {}),
        **(
            {
                "authentication": answer.authentication,
                "authentication_url": answer.authentication_url,
            }
            if answer.authentication
            else {}
        ),
    }


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


_decode_execution: Decoder[Execution] = Decoder(
    e,
    Execution,
    columns={
        "next_attempt": "next_attempt_at",
        "answer": "result",
        "created": "created_at",
    },
    convert={
        "operation": Operation,
        "state": ExecutionState,
        "next_attempt": _epoch,
        "lease_until": _epoch,
        "answer": lambda result: None if result is None else PspAnswer(**result),
        "metadata": dict,
    },
    skip=("attempts",),
)


def _execution(row: Any, attempts: tuple[Attempt, ...] = ()) -> Execution:
    """From an asyncpg record or a Core row."""
    found = _decode_execution(row)
    return replace(found, attempts=attempts) if attempts else found


_attempt: Decoder[Attempt] = Decoder(
    a,
    Attempt,
    columns={"started": "started_at", "finished": "finished_at"},
    convert={
        "kind": AttemptKind,
        "started": lambda moment: moment.timestamp(),
        "finished": _epoch,
        "outcome": AttemptOutcome,
    },
)


def executions_query(merchant_id: str | None, wanted: ExecutionFilter) -> Select[Any]:
    """The executions `wanted` names (of every merchant of the shard when `merchant_id` is
    None: operators)."""
    query = matching(
        e,
        merchant_id=merchant_id,
        state=wanted.state,
        payment_order_id=wanted.payment_order_id,
        payment_intent_id=wanted.payment_intent_id,
        refund_id=wanted.refund_id,
    )
    if wanted.operations:
        query = query.where(e.c.operation.in_([operation.value for operation in wanted.operations]))
    return query


def decode_execution(row: Any) -> Execution:
    return _execution(row)
