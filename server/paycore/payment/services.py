"""Pay-in's long-lived objects, built once by the composition root (paycore.app). The fraud
service is built here through `fraud_with`, because its review listener is pay-in's
(paycore.payment.reviews) and is passed to its constructor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paycore.config import Settings
from paycore.currency.crossing import Crossings
from paycore.currency.settlement import Conversions
from paycore.events import Recorder
from paycore.executor.breaker import Breakers, CircuitBreaker
from paycore.executor.models import PAY_IN_OPERATIONS, Operation
from paycore.executor.retry import RetryPolicy
from paycore.executor.service import (
    Completion,
    Executor,
    ExecutorMetrics,
    ExecutorSettings,
    PayoutDestinations,
)
from paycore.fraud.service import FraudService, ReviewListener
from paycore.ledger.service import LedgerService
from paycore.payment.application_fees import ApplicationFees
from paycore.payment.authenticated import ReturnRoute
from paycore.payment.charges import Charges
from paycore.payment.checkout import Checkouts, PaymentOrders
from paycore.payment.client_secrets import ClientSecrets
from paycore.payment.completion import PayInCompletion
from paycore.payment.events import PayInEvents
from paycore.payment.intents.flow import IntentFlow
from paycore.payment.models import SetupIntent
from paycore.payment.money import PayInLedger
from paycore.payment.off_session import OffSessionCharges
from paycore.payment.pay_in import PayIn
from paycore.payment.refunds import Refunds
from paycore.payment.reviews import ReviewOutcomes
from paycore.payment.servicer.messages import (
    application_fee_message,
    charge_message,
    fee_refund_message,
    intent_message,
    order_message,
    payment_message,
    refund_message,
    setup_message,
)
from paycore.payment.setup.completion import SetupCompletion
from paycore.payment.setup.flow import SetupCards, SetupFlow
from paycore.payout.balances import BalanceBook
from paycore.psp.client import PspClient
from paycore.storage import Shards
from paycore.storage.reads import Reads
from prometheus_client import CollectorRegistry


@dataclass(frozen=True)
class PayOutHooks:
    """What the executor needs from pay-out (paycore.payout): its completion of a payout
    execution and the source of payout destinations."""

    completion: Completion
    destinations: PayoutDestinations


def build_pay_in(
    settings: Settings,
    registry: CollectorRegistry,
    shards: Shards,
    ledger: LedgerService,
    cards: SetupCards,
    fraud_with: Callable[[ReviewListener], FraudService],
    balances: BalanceBook,
    conversions: Conversions,
    crossings: Crossings,
    pay_out: PayOutHooks,
) -> PayIn:
    """`balances`: pay-out's balance book (pay-in's credits and debits write their rows);
    `conversions`: charges settled in another currency (paycore.currency.settlement);
    `crossings`: money passed on to sellers settling in another (paycore.currency.crossing);
    `pay_out`: the executor's completion of payouts and where they go."""
    psp = PspClient(settings.psp_url, timeout_seconds=settings.psp_timeout_ms / 1000)
    events = PayInEvents(
        Recorder(intent_message),
        Recorder(order_message),
        Recorder(payment_message),
        Recorder(refund_message),
        Recorder(charge_message),
        Recorder(application_fee_message),
    )
    completion = PayInCompletion(
        PayInLedger(ledger, balances, conversions, crossings), events, cards
    )
    setup_events: Recorder[SetupIntent] = Recorder(setup_message)
    executor = Executor(
        shards,
        psp,
        cards,
        ExecutorMetrics(registry),
        {
            **dict.fromkeys(PAY_IN_OPERATIONS, completion),
            Operation.PAYOUT: pay_out.completion,
            Operation.SETUP: SetupCompletion(cards, setup_events),
        },
        ExecutorSettings(
            retry=RetryPolicy(
                max_attempts=settings.executor_max_attempts,
                base_seconds=settings.executor_retry_base_ms / 1000,
            ),
            lease_seconds=settings.executor_lease_ms / 1000,
            inline_wait_ms=settings.executor_inline_wait_ms,
            group_commit_max=settings.executor_group_commit_max,
        ),
        Breakers(
            lambda: CircuitBreaker(
                settings.psp_breaker_threshold, settings.psp_breaker_open_ms / 1000
            )
        ),
        payouts=pay_out.destinations,
        returns=ReturnRoute(settings.pages_url, ClientSecrets(settings.key_hash_secret)),
    )
    reads = Reads(shards)
    orders = PaymentOrders(shards, reads, executor, completion, events)
    reviews = ReviewOutcomes(shards, executor, events, orders)
    fraud = fraud_with(reviews.listener)
    return PayIn(
        psp=psp,
        executor=executor,
        fraud=fraud,
        intents=IntentFlow(reads, executor, cards, fraud, events),
        checkouts=Checkouts(orders, cards, fraud),
        refunds=Refunds(reads, executor, events),
        off_session=OffSessionCharges(shards, executor, events),
        setups=SetupFlow(reads, executor, cards, setup_events),
        charges=Charges(reads, events.charge),
        application_fees=ApplicationFees(
            reads,
            balances,
            events.application_fee,
            conversions,
            crossings,
            Recorder(fee_refund_message),
        ),
    )
