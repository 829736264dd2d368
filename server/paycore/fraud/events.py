"""The events fraud reviews write to the outbox (Stripe's `review.opened` and `review.closed`),
recorded in the transaction that opens or closes the review by a `Recorder[Review]`
(paycore.events.Recorder) the composition root builds with the servicer's converter
(paycore.fraud.servicer.messages.review_message), so the domain never imports the
generated messages."""

from __future__ import annotations

REVIEW_OPENED = "review.opened"
REVIEW_CLOSED = "review.closed"
EARLY_FRAUD_WARNING_CREATED = "radar.early_fraud_warning.created"
"""Recorded with the warning, in the transaction that stores it from the PSP's feed."""
