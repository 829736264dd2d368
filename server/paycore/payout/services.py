"""Pay-out's long-lived objects, built once by the composition root (paycore.app) in two steps:
`build_pay_out_base` before the executor (which applies payout outcomes through the lifecycle
and asks the bank accounts where a payout goes), `build_pay_out` after it."""

from __future__ import annotations

from dataclasses import dataclass

from paycore.config import Settings
from paycore.currency.crossing import Crossings
from paycore.currency.rules import CurrencyRules
from paycore.customer.vault import Fingerprinter, Vault
from paycore.events import Recorder
from paycore.executor.service import Executor
from paycore.ledger.service import LedgerService
from paycore.payout.availability import Availability
from paycore.payout.balances import BalanceBook, Clock
from paycore.payout.bank_accounts import BankAccounts, Cards
from paycore.payout.events import PayOutEvents
from paycore.payout.lifecycle import PayoutLifecycle
from paycore.payout.metrics import PayoutMetrics
from paycore.payout.models import InstantAvailable, InstantFees
from paycore.payout.payouts import Payouts
from paycore.payout.reading import PayoutReads
from paycore.payout.schedules import Scheduler, Schedules
from paycore.payout.servicer.messages import (
    account_balance_message,
    payout_message,
    transfer_message,
)
from paycore.payout.tracking import PayoutTracker
from paycore.payout.transfers import Transfers
from paycore.psp.client import PspClient
from paycore.storage import Shards
from paycore.storage.reads import Reads
from prometheus_client import CollectorRegistry


@dataclass(frozen=True)
class PayOutBase:
    book: BalanceBook
    events: PayOutEvents
    lifecycle: PayoutLifecycle
    bank_accounts: BankAccounts
    reads: PayoutReads


@dataclass(frozen=True)
class PayOut:
    book: BalanceBook
    lifecycle: PayoutLifecycle
    bank_accounts: BankAccounts
    reads: PayoutReads
    payouts: Payouts
    schedules: Schedules
    scheduler: Scheduler
    availability: Availability
    tracker: PayoutTracker
    transfers: Transfers


def build_pay_out_base(
    settings: Settings,
    shards: Shards,
    ledger: LedgerService,
    cards: Cards,
    clock: Clock,
    registry: CollectorRegistry,
) -> PayOutBase:
    book = BalanceBook(ledger, clock)
    bank_accounts = BankAccounts(
        shards,
        Vault.from_setting(settings.vault_key),
        Fingerprinter(settings.card_fingerprint_key),
        cards,
        clock,
    )
    events = PayOutEvents(
        Recorder(payout_message), Recorder(account_balance_message), Recorder(transfer_message)
    )
    return PayOutBase(
        book,
        events,
        PayoutLifecycle(book, events.payout, PayoutMetrics(registry)),
        bank_accounts,
        PayoutReads(Reads(shards)),
    )


def build_pay_out(
    settings: Settings,
    shards: Shards,
    base: PayOutBase,
    executor: Executor,
    psp: PspClient,
    clock: Clock,
    rules: CurrencyRules,
    crossings: Crossings,
) -> PayOut:
    fees = InstantFees(settings.payout_instant_fee_bps, settings.payout_instant_fee_minimum)
    availability = Availability(base.book, base.events.balance, InstantAvailable(fees, rules))
    payouts = Payouts(
        base.book,
        executor,
        base.lifecycle,
        base.bank_accounts,
        fees,
        base.events.payout,
        rules,
        availability,
    )
    return PayOut(
        book=base.book,
        lifecycle=base.lifecycle,
        bank_accounts=base.bank_accounts,
        reads=base.reads,
        payouts=payouts,
        schedules=Schedules(shards, clock),
        scheduler=Scheduler(payouts, clock),
        availability=availability,
        tracker=PayoutTracker(shards, psp, base.lifecycle),
        transfers=Transfers(base.book, base.events.transfer, availability, crossings),
    )
