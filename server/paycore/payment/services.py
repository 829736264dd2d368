"""Pay-in's long-lived objects, built once by the composition root (paycore.app)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from paycore.config import Settings
from paycore.executor.breaker import CircuitBreaker
from paycore.executor.models import PAY_IN_OPERATIONS, Operation
from paycore.executor.retry import RetryPolicy
from paycore.executor.service import (
    CardSource,
    Completion,
    Executor,
    ExecutorMetrics,
    ExecutorSettings,
    PayoutDestinations,
)
from paycore.fraud.service import FraudService
from paycore.ledger.service import LedgerService
from paycore.payment.checkout import Checkouts
from paycore.payment.completion import PayInCompletion
from paycore.payment.intents import PaymentIntents
from paycore.payment.money import PayInLedger
from paycore.payment.refunds import Refunds
from paycore.payment.reviews import review_listener
from paycore.payout.balances import BalanceBook
from paycore.psp.client import PspClient
from paycore.runtime.mutations import Mutations
from paycore.storage import Shards
from prometheus_client import CollectorRegistry


@dataclass(frozen=True)
class PayOutHooks:
    """What the executor needs from pay-out (paycore.payout): its completion of a payout
    execution and the source of payout destinations."""

    completion: Completion
    destinations: PayoutDestinations


@dataclass
class PayIn:
    psp: PspClient
    executor: Executor
    intents: PaymentIntents
    checkouts: Checkouts
    refunds: Refunds

    async def close(self) -> None:
        await self.psp.close()


def build_pay_in(
    settings: Settings,
    registry: CollectorRegistry,
    shards: Shards,
    mutations: Mutations,
    ledger: LedgerService,
    cards: CardSource,
    fraud: FraudService,
    balances: BalanceBook,
    pay_out: PayOutHooks,
) -> PayIn:
    """`balances`: pay-out's balance book (pay-in's credits and debits write their rows);
    `pay_out`: the executor's completion of payouts and where they go."""
    psp = PspClient(settings.psp_url, timeout_seconds=settings.psp_timeout_ms / 1000)
    completion = PayInCompletion(PayInLedger(ledger, balances))
    executor = Executor(
        shards,
        psp,
        cards,
        ExecutorMetrics(registry),
        {**dict.fromkeys(PAY_IN_OPERATIONS, completion), Operation.PAYOUT: pay_out.completion},
        ExecutorSettings(
            retry=RetryPolicy(
                max_attempts=settings.executor_max_attempts,
                base_seconds=settings.executor_retry_base_ms / 1000,
            ),
            lease_seconds=settings.executor_lease_ms / 1000,
            inline_wait_seconds=settings.executor_inline_wait_ms / 1000,
        ),
        CircuitBreaker(settings.psp_breaker_threshold, settings.psp_breaker_open_ms / 1000),
        payouts=pay_out.destinations,
    )
    lease = timedelta(milliseconds=settings.executor_lease_ms)
    intents = PaymentIntents(shards, mutations, executor, cards, fraud, lease)
    checkouts = Checkouts(shards, mutations, executor, cards, fraud, completion, lease)
    fraud.review_listener = review_listener(intents, checkouts)
    return PayIn(psp, executor, intents, checkouts, Refunds(shards, mutations, executor, lease))
