"""The second phase an intent's and a setup's confirmation share: the executor runs the
subject's execution, and the subject as its completion settled it is stored as the request's
final answer in that same transaction."""

from __future__ import annotations

from typing import Protocol, TypeVar

from paycore.customer.models import ChargeableCard
from paycore.executor.models import Execution
from paycore.executor.service import Executor
from paycore.runtime.mutations import FinalAnswer
from sqlalchemy.ext.asyncio import AsyncConnection


class Subject(Protocol):
    @property
    def id(self) -> str: ...


S = TypeVar("S", bound=Subject)


async def run_settling(
    executor: Executor,
    merchant_id: str,
    execution_id: str,
    subject: S,
    final: FinalAnswer[S],
    *,
    claimed: Execution | None,
    card: ChargeableCard | None,
) -> tuple[Execution, S | None]:
    """Runs `subject`'s execution; the execution as it then stands and `subject` as the
    completion settled it (None when it did not settle it: the run handed it to the worker)."""
    settled: list[S] = []

    async def answered(connection: AsyncConnection, found: object) -> None:
        if isinstance(found, type(subject)) and found.id == subject.id:
            await final.store_in(connection, found)
            settled.append(found)

    execution = await executor.run(
        merchant_id, execution_id, claimed=claimed, card=card, settled=answered
    )
    return execution, settled[-1] if settled else None
