"""The second phase of a confirmation: runs the setup's verification at the PSP, outside any
transaction, and answers with the setup as its completion left it (stored as the request's
final answer in the transaction that settles it)."""

from __future__ import annotations

from paycore.payment.models import SetupIntent, SetupStatus
from paycore.payment.settling import run_settling
from paycore.payment.setup.flow import FirstPhase, SetupFlow
from paycore.runtime.mutations import Complete, FinalAnswer


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
        _, settled = await run_settling(
            flow.executor,
            merchant_id,
            setup.execution_id,
            setup,
            final,
            claimed=claimed,
            card=card,
        )
        return settled if settled is not None else await flow.get(merchant_id, setup_id)

    return complete
