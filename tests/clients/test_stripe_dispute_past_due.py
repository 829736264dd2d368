"""A dispute's `evidence_details` carries Stripe's `past_due` (whether the last submission was
sent after `due_by`): stripe-python code that checks it before trusting a submission
(`if dispute.evidence_details.past_due:`) raised AttributeError on paycore's dispute, which
rendered only due_by, has_evidence, submission_count and submitted_at (found by a black-box
probe through the SDK). paycore refuses evidence past due (DISPUTE_PAST_DUE), so what it sends
is never late: false before and after a submission, as Stripe's default."""

from __future__ import annotations

import asyncio

import pytest
import stripe

from tests.clients.conftest import StripeWorld
from tests.dispute.support import DISPUTE_DELAY_SECONDS, read_feed


@pytest.fixture
def merchant(stripe_world: StripeWorld, monkeypatch: pytest.MonkeyPatch) -> StripeWorld:
    monkeypatch.setattr(stripe, "api_key", stripe_world.merchant.secret_key)
    monkeypatch.setattr(stripe, "api_base", stripe_world.merchant.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return stripe_world


async def test_evidence_details_say_whether_the_submission_was_past_due(
    merchant: StripeWorld,
) -> None:
    world = merchant.world
    intent = await asyncio.to_thread(
        lambda: stripe.PaymentIntent.create(
            amount=2000, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
    )
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

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
