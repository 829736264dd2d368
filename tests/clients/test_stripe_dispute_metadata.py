"""A dispute's metadata is the merchant's own bookkeeping and may change whatever the dispute's
state, as on every other Stripe object: `Dispute.modify(id, metadata={"case": ...})` after the
evidence was submitted, or once the dispute is closed (lost, accepted), was refused 400
`dispute_evidence_submitted` or `dispute_past_due` ("the evidence of dispute ... was due by"),
errors about evidence the call never sent, so a merchant could not tag a dispute with its
internal case number once answered (found by a black-box probe through the SDK). Evidence
stays refused as before, and a metadata update leaves a submission under way alone."""

from __future__ import annotations

import asyncio

import pytest
import stripe

from tests.clients.conftest import StripeWorld, disputed_payment
from tests.dispute.support import read_feed


async def test_metadata_changes_after_the_submission_and_once_the_dispute_is_lost(
    stripe_merchant: StripeWorld,
) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def submit() -> stripe.Dispute:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        stripe.Dispute.modify(
            dispute.id, evidence={"uncategorized_text": "losing_evidence"}, submit=True
        )
        return stripe.Dispute.modify(dispute.id, metadata={"case": "c-17"})

    under_review = await asyncio.to_thread(submit)
    assert (under_review.status, under_review.metadata.to_dict()) == (
        "under_review",
        {"case": "c-17"},
    )
    assert under_review.evidence_details.submission_count == 1

    await read_feed(world)

    def after_the_loss() -> stripe.Dispute:
        return stripe.Dispute.modify(under_review.id, metadata={"case": "", "written_off": "yes"})

    lost = await asyncio.to_thread(after_the_loss)
    assert lost.status == "lost"
    assert lost.metadata.to_dict() == {"written_off": "yes"}
    assert lost.evidence.uncategorized_text == "losing_evidence"

    def more_evidence() -> None:
        stripe.Dispute.modify(under_review.id, evidence={"uncategorized_text": "late"})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await asyncio.to_thread(more_evidence)
    assert refused.value.code == "dispute_evidence_submitted"
    again = await asyncio.to_thread(lambda: stripe.Dispute.retrieve(under_review.id))
    assert again.evidence.uncategorized_text == "losing_evidence"
    assert again.metadata.to_dict() == {"written_off": "yes"}
