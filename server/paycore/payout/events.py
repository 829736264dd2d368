"""The events pay-out writes to the outbox (Stripe's names), and `PayOutEvents`, its recorders
(paycore.events.Recorder): the composition root builds them with the servicer's converters
(paycore.payout.servicer.messages), so domain code deals in dataclasses and never in messages
(as paycore.payment.events does for pay-in)."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events import Recorder
from paycore.payout.models import AccountBalance, Payout, Transfer

PAYOUT_CREATED = "payout.created"
PAYOUT_UPDATED = "payout.updated"
"""Stripe's one type for a payout's move to in_transit and for new metadata."""
PAYOUT_PAID = "payout.paid"
PAYOUT_FAILED = "payout.failed"
PAYOUT_CANCELED = "payout.canceled"
PAYOUT_RECONCILIATION_COMPLETED = "payout.reconciliation_completed"
"""An automatic payout's balance transactions can be listed: recorded with its creation, which
assigns them (Stripe's reconciliation_status completed)."""
BALANCE_AVAILABLE = "balance.available"
TRANSFER_CREATED = "transfer.created"
TRANSFER_REVERSED = "transfer.reversed"
"""Stripe's one type for each reversal, partial or whole (the transfer's amount_reversed)."""
TRANSFER_UPDATED = "transfer.updated"


@dataclass(frozen=True, slots=True)
class PayOutEvents:
    payout: Recorder[Payout]
    balance: Recorder[AccountBalance]
    transfer: Recorder[Transfer]
