"""Staged dispute evidence can be taken back before it is submitted, as at Stripe: an empty
string unsets the field (`evidence[customer_email_address]=`). paycore merged only the
non-empty fields, so a wrong staged field (another customer's email, a tracking number of
another parcel) could only be overwritten, never removed, and went to the bank with the
submission (found by a black-box probe through the SDK)."""

from __future__ import annotations

import asyncio

import stripe

from tests.clients.conftest import StripeWorld, disputed_payment


async def test_an_empty_string_unsets_a_staged_evidence_field(stripe_merchant: StripeWorld) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def answer() -> stripe.Dispute:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        stripe.Dispute.modify(
            dispute.id,
            evidence={
                "customer_name": "Jane",
                "customer_email_address": "someone.else@example.com",
                "shipping_tracking_number": "WRONG-PARCEL-1",
            },
            submit=False,
        )
        cleared = stripe.Dispute.modify(
            dispute.id,
            evidence={"customer_email_address": "", "shipping_tracking_number": ""},
            submit=False,
        )
        assert cleared.evidence.customer_email_address is None
        assert cleared.evidence.shipping_tracking_number is None
        assert cleared.evidence.customer_name == "Jane"
        assert stripe.Dispute.retrieve(dispute.id).evidence.to_dict() == cleared.evidence.to_dict()
        only_name = stripe.Dispute.modify(dispute.id, evidence={"customer_name": ""}, submit=False)
        assert not only_name.evidence_details.has_evidence
        stripe.Dispute.modify(dispute.id, evidence={"customer_name": "Jane"}, submit=False)
        return stripe.Dispute.modify(dispute.id, submit=True)

    submitted = await asyncio.to_thread(answer)

    assert submitted.status == "under_review"
    assert world.psp.count("disputes WHERE evidence LIKE '%WRONG-PARCEL-1%'") == 0
    assert world.psp.count("disputes WHERE evidence LIKE '%someone.else%'") == 0
    assert world.psp.count("disputes WHERE evidence LIKE '%Jane%'") == 1
