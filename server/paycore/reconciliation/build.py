"""Reconciliation's objects, built once by the composition root (paycore.app)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from paycore.config import Settings
from paycore.events import Recorder
from paycore.ledger.service import LedgerService
from paycore.payout.balances import BalanceBook
from paycore.payout.lifecycle import PayoutLifecycle
from paycore.payout.metrics import PayoutMetrics
from paycore.payout.servicer.messages import payout_message
from paycore.reconciliation.books import Books, owner_logical_shard
from paycore.reconciliation.events import ReconciliationEvents
from paycore.reconciliation.metrics import ReconciliationMetrics
from paycore.reconciliation.models import Source
from paycore.reconciliation.payout_resolution import PayoutResolutions
from paycore.reconciliation.report import HttpJsonLinesReport, ReportSource
from paycore.reconciliation.resolution import Resolver
from paycore.reconciliation.runs import Matching, Runs
from paycore.reconciliation.service import Reconciliation
from paycore.reconciliation.servicer.messages import discrepancy_message, run_message
from paycore.storage import Shards
from prometheus_client import CollectorRegistry

SETTLEMENT_PATH = "/v1/settlements/{day}"
BANK_PAYOUTS_PATH = "/v1/bank/payouts_report/{day}"


def report_sources(settings: Settings) -> dict[Source, ReportSource]:
    """The reports paycore reconciles: the PSP's settlement report and the bank's payouts
    report (PAYCORE_BANK_URL, the PSP's URL when empty: the simulator serves both)."""
    return {
        Source.PSP_SETTLEMENT: HttpJsonLinesReport(settings.psp_url, SETTLEMENT_PATH),
        Source.BANK_PAYOUTS: HttpJsonLinesReport(
            settings.bank_url or settings.psp_url, BANK_PAYOUTS_PATH
        ),
    }


def build_reconciliation(
    settings: Settings,
    registry: CollectorRegistry,
    shards: Shards,
    ledger: LedgerService,
    clock: Callable[[], float] = time.time,
    *,
    balances: BalanceBook | None = None,
    lifecycle: PayoutLifecycle | None = None,
) -> Reconciliation:
    """`balances` and `lifecycle`: pay-out's (paycore.payout.services.PayOutBase; built here
    when not given, for a process without pay-out's services): an adjustment of a merchant's
    balance is a balance transaction, and a payout the bank's report contradicts follows the
    bank through its lifecycle."""
    balances = balances or BalanceBook(ledger, clock)
    lifecycle = lifecycle or PayoutLifecycle(
        balances, Recorder(payout_message), PayoutMetrics(registry)
    )
    events = ReconciliationEvents(
        Recorder(run_message, owner_logical_shard),
        Recorder(discrepancy_message, owner_logical_shard),
    )
    books = Books(ledger)
    resolver = Resolver(
        books, events.discrepancy, balances, PayoutResolutions(books, balances, lifecycle)
    )
    runs = Runs(
        shards,
        report_sources(settings),
        books,
        resolver,
        ReconciliationMetrics(registry),
        events,
        Matching(
            psp_fee_basis_points=settings.reconciliation_psp_fee_basis_points,
            timing_window_seconds=settings.reconciliation_timing_window_seconds,
            lease=dt.timedelta(milliseconds=settings.reconciliation_lease_ms),
        ),
        clock,
    )
    return Reconciliation(shards, runs, resolver)
