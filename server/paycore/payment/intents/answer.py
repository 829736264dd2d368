"""The second phase every intent operation shares: runs the intent's open execution, if any,
and answers with the intent as it then stands (stored as the request's final answer in the
transaction that settles it, when the execution's completion settles it)."""

from __future__ import annotations

from paycore.executor.models import ExecutionState, Operation
from paycore.fraud.features import PaymentFacts
from paycore.payment.intents.flow import FirstPhase, IntentFlow
from paycore.payment.models import Intent, IntentStatus
from paycore.payment.risk import score_request
from paycore.payment.settling import run_settling
from paycore.runtime.mutations import Complete, FinalAnswer


def answer(
    flow: IntentFlow,
    merchant_id: str,
    facts: PaymentFacts | None = None,
    first_phase: FirstPhase | None = None,
) -> Complete[Intent]:
    """`facts`: what the fraud check saw, fed back with the PSP's answer (a resumed request
    rebuilds it from the stored card). `first_phase`: what this request's own first phase
    left (a resumed request reads the intent instead)."""

    async def complete(intent_id: str, final: FinalAnswer[Intent]) -> Intent:
        known = first_phase.intent if first_phase is not None else None
        if known is None or first_phase is None:
            intent = await flow.get(merchant_id, intent_id)
            claimed, card = None, None
        else:
            intent, claimed, card = known, first_phase.execution, first_phase.card
        if not (intent.execution_id and intent.status is IntentStatus.PROCESSING):
            return intent
        execution, settled = await run_settling(
            flow.executor,
            merchant_id,
            intent.execution_id,
            intent,
            final,
            claimed=claimed,
            card=card,
        )
        outcome = execution.answer
        asked = outcome is not None and outcome.requires_action  # nothing charged yet
        if (
            execution.operation in (Operation.CHARGE, Operation.AUTHORIZE)
            and execution.state in (ExecutionState.SUCCEEDED, ExecutionState.FAILED)
            and not asked
        ):
            await _report_outcome(
                flow, intent, facts, execution.succeeded, outcome.decline_code if outcome else ""
            )
        if settled is not None:
            return settled  # the intent as the execution's completion left it
        return await flow.get(merchant_id, intent_id)

    return complete


async def _report_outcome(
    flow: IntentFlow,
    intent: Intent,
    facts: PaymentFacts | None,
    succeeded: bool,
    decline_code: str,
) -> None:
    if facts is None:
        card = await flow.cards.card_for_charge(intent.merchant_id, intent.payment_method_id or "")
        facts = score_request(  # resumed after the request: its client's address is gone
            intent.merchant_id,
            intent.id,
            intent.amount,
            intent.currency,
            card,
            intent.customer_id,
            client_ip="",
        )
    await flow.fraud.record_payment_outcome(
        intent.merchant_id, facts, succeeded=succeeded, decline_code=decline_code
    )
