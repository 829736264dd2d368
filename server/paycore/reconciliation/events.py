"""The events reconciliation writes to the outbox, and `ReconciliationEvents`, its recorders
(paycore.events.Recorder): the composition root (paycore.reconciliation.build) builds them with
the servicer's converters (paycore.reconciliation.servicer.messages) and the owner's shard
(books.owner_logical_shard: a run, and a discrepancy naming no merchant, are the platform's),
so domain code deals in dataclasses and never in messages."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.events import Recorder
from paycore.reconciliation.models import Discrepancy, Run

RUN_COMPLETED = "reconciliation.run.completed"
DISCREPANCY_CREATED = "reconciliation.discrepancy.created"
DISCREPANCY_RESOLVED = "reconciliation.discrepancy.resolved"


@dataclass(frozen=True, slots=True)
class ReconciliationEvents:
    run: Recorder[Run]
    discrepancy: Recorder[Discrepancy]
