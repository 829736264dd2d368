"""Reconciliation's objects, built once by the composition root (paycore.app)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from paycore.config import Settings
from paycore.ledger.service import LedgerService
from paycore.reconciliation.books import Books
from paycore.reconciliation.metrics import ReconciliationMetrics
from paycore.reconciliation.models import Source
from paycore.reconciliation.report import HttpJsonLinesReport, ReportSource
from paycore.reconciliation.resolution import Resolver
from paycore.reconciliation.runs import Matching, Runs
from paycore.reconciliation.service import Reconciliation
from paycore.reconciliation.servicer.messages import discrepancy_message, run_message
from paycore.storage import Shards
from prometheus_client import CollectorRegistry

SETTLEMENT_PATH = "/v1/settlements/{day}"


def report_sources(settings: Settings) -> dict[Source, ReportSource]:
    """The reports paycore reconciles: the PSP's settlement report (the bank's payouts report
    joins when payouts exist)."""
    return {Source.PSP_SETTLEMENT: HttpJsonLinesReport(settings.psp_url, SETTLEMENT_PATH)}


def build_reconciliation(
    settings: Settings,
    registry: CollectorRegistry,
    shards: Shards,
    ledger: LedgerService,
    clock: Callable[[], float] = time.time,
) -> Reconciliation:
    books = Books(ledger)
    resolver = Resolver(books, discrepancy_message)
    runs = Runs(
        shards,
        report_sources(settings),
        books,
        resolver,
        ReconciliationMetrics(registry),
        run_message,
        Matching(
            psp_fee_basis_points=settings.reconciliation_psp_fee_basis_points,
            timing_window_seconds=settings.reconciliation_timing_window_seconds,
            lease=dt.timedelta(milliseconds=settings.reconciliation_lease_ms),
        ),
        clock,
    )
    return Reconciliation(shards, runs, resolver)
