"""The second phase of a confirmation: runs the setup's verification at the PSP, outside any
transaction, and answers with the setup as its completion left it (stored as the request's
final answer in the transaction that settles it)."""

from __future__ import annotations

from paycore.payment.models import SetupIntent, SetupStatus
from paycore.payment.setup.flow import FirstPhase, SetupFlow
from paycore.runtime.mutations import Complete, FinalAnswer
from sqlalchemy.ext.asyncio import AsyncConnection


def answer(
    flow: SetupFlow, merchant_id: str, first_phase: FirstPhase | None = None
) -> Complete[SetupIntent]:
    """`first_phase`: what this request's own first phase left (a resumed request reads the
    setup instead)."""

    async def complete(setup_id: str, final: FinalAnswer[SetupIntent]) -> SetupIntent:
        known = first_phase.setup if first_phase is not None else None
        if known is None or first_phase is None:
            setup = await flow.get(merchant_id, setup_id)
            claimed, card = None, None
        else:
            setup, claimed, card = known, first_phase.execution, first_phase.card
        if not (setup.execution_id and setup.status is SetupStatus.PROCESSING):
            return setup
        settled: list[SetupIntent] = []

        async def answered(connection: AsyncConnection, subject: object) -> None:
            if isinstance(subject, SetupIntent) and subject.id == setup_id:
                await final.store_in(connection, subject)
                settled.append(subject)

        await flow.executor.run(
            merchant_id, setup.execution_id, claimed=claimed, card=card, settled=answered
        )
        if settled:
            return settled[-1]
        return await flow.get(merchant_id, setup_id)

    return complete
