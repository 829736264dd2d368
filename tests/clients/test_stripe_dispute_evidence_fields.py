"""Stripe's dispute evidence text fields through the official SDK. A merchant answering a
`fraudulent` chargeback as Stripe's guides say sends `evidence[customer_purchase_ip]` (and a
subscription's `cancellation_rebuttal`, `refund_policy_disclosure`,
`cancellation_policy_disclosure`, a duplicate's `duplicate_charge_id`); paycore knew only 15 of
Stripe's text fields and answered each of these 400 parameter_unknown (found by a black-box
probe through the SDK). They are staged, shown, and sent to the PSP with the rest."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe

from tests.clients.conftest import StripeWorld, disputed_payment

STRIPE_TEXT_FIELDS = {
    "customer_purchase_ip": "203.0.113.7",
    "cancellation_rebuttal": "The customer used the service after the date they cite.",
    "refund_policy_disclosure": "Shown at checkout, above the pay button.",
    "cancellation_policy_disclosure": "Shown at sign-up and in every receipt.",
    "duplicate_charge_id": "ch_the_other_one",
}


async def test_stripes_evidence_text_fields_are_staged_shown_and_sent(
    stripe_merchant: StripeWorld,
) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def answer() -> stripe.Dispute:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        evidence: Any = {**STRIPE_TEXT_FIELDS, "customer_name": "Jane"}
        staged = stripe.Dispute.modify(dispute.id, evidence=evidence, submit=False)
        for name, value in STRIPE_TEXT_FIELDS.items():
            assert staged.evidence[name] == value
        assert staged.evidence_details.has_evidence
        assert stripe.Dispute.retrieve(dispute.id).evidence.to_dict() == staged.evidence.to_dict()
        return stripe.Dispute.modify(dispute.id, submit=True)

    submitted = await asyncio.to_thread(answer)

    assert submitted.status == "under_review"
    for value in STRIPE_TEXT_FIELDS.values():
        assert world.psp.count(f"disputes WHERE evidence LIKE '%{value}%'") == 1
