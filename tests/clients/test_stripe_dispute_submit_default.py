"""`Dispute.modify(id, evidence={...})` submits the evidence, as Stripe's API does unless told
`submit=false` (its default is true). paycore staged it, so a merchant who answered a dispute
as Stripe's docs show never reached the bank and lost at the deadline. A metadata-only update
submits nothing; `submit=False` still stages; over gRPC an unset `submit` stages, as ever."""

from __future__ import annotations

import asyncio

import stripe

from tests.clients.conftest import StripeWorld, disputed_payment


async def test_evidence_without_submit_is_sent_to_the_bank_once(
    stripe_merchant: StripeWorld,
) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def answer() -> tuple[stripe.Dispute, stripe.Dispute, stripe.Dispute]:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        labelled = stripe.Dispute.modify(dispute.id, metadata={"case": "c-9"})
        staged = stripe.Dispute.modify(
            dispute.id, evidence={"customer_name": "Jenny Rosen"}, submit=False
        )
        submitted = stripe.Dispute.modify(
            dispute.id, evidence={"uncategorized_text": "winning_evidence"}
        )
        return labelled, staged, submitted

    labelled, staged, submitted = await asyncio.to_thread(answer)

    assert labelled.status == staged.status == "needs_response"
    assert labelled.evidence_details.submission_count == 0
    assert staged.evidence_details.submission_count == 0
    assert submitted.status == "under_review"
    assert submitted.evidence_details.submission_count == 1
    assert submitted.evidence.customer_name == "Jenny Rosen"
    assert world.psp.count("disputes WHERE evidence LIKE '%winning_evidence%'") == 1
