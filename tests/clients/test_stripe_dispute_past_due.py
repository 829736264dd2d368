"""A dispute's `evidence_details` carries Stripe's `past_due` (whether the last submission was
sent after `due_by`): stripe-python code that checks it before trusting a submission
(`if dispute.evidence_details.past_due:`) raised AttributeError on paycore's dispute, which
rendered only due_by, has_evidence, submission_count and submitted_at (found by a black-box
probe through the SDK). paycore refuses evidence past due (DISPUTE_PAST_DUE), so what it sends
is never late: false before and after a submission, as Stripe's default."""

from __future__ import annotations

import asyncio

import stripe

from tests.clients.conftest import StripeWorld, disputed_payment


async def test_evidence_details_say_whether_the_submission_was_past_due(
    stripe_merchant: StripeWorld,
) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def answer() -> tuple[stripe.Dispute, stripe.Dispute]:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        return dispute, stripe.Dispute.modify(
            dispute.id, evidence={"uncategorized_text": "on time"}, submit=True
        )

    opened, submitted = await asyncio.to_thread(answer)

    assert opened.evidence_details.past_due is False
    assert submitted.evidence_details.submission_count == 1
    assert submitted.evidence_details.past_due is False
    assert submitted.status == "under_review"
