"""The composition root: builds every long-lived object of a paycore process from Settings,
once, and hands them to whoever needs them. Nothing else creates engines or clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import grpc
from grpc import aio
from paycore import contracts
from paycore.account.authentication import Authenticator
from paycore.account.keys import KeyHasher
from paycore.account.service import AccountService
from paycore.account.servicer import AccountServicer
from paycore.config import Settings
from paycore.customer.service import CustomerService
from paycore.customer.servicer import CustomerServicer
from paycore.customer.vault import Fingerprinter, Vault
from paycore.events.publishing import RedisStreamPublisher
from paycore.events.service import EventService
from paycore.events.servicer import EventServicer
from paycore.executor.servicer import ExecutorServicer
from paycore.fraud.metrics import FraudMetrics
from paycore.fraud.model import load_model
from paycore.fraud.service import FraudService
from paycore.fraud.servicer import FraudServicer
from paycore.fraud.velocity import VelocityCounters
from paycore.ledger.coalescer import Coalescer
from paycore.ledger.service import LedgerService
from paycore.ledger.servicer import LedgerServicer
from paycore.payment.off_session import OffSessionCharges
from paycore.payment.servicer import PaymentServicer
from paycore.payment.services import PayIn, PayOutHooks, build_pay_in
from paycore.payout import servicer as payout_servicer
from paycore.payout.services import PayOut, build_pay_out, build_pay_out_base
from paycore.ratelimit import RateLimiter
from paycore.runtime.interceptors import (
    AuthenticationInterceptor,
    ErrorInterceptor,
    HeaderInterceptor,
    IdempotencyKeyInterceptor,
    MetricsInterceptor,
    RateLimitInterceptor,
    RequestLogInterceptor,
    RequestSizeInterceptor,
)
from paycore.runtime.metrics import GrpcMetrics
from paycore.runtime.mutations import Mutations
from paycore.runtime.policy import MethodPolicy, internal_services
from paycore.runtime.server import GrpcServer, start_grpc_server
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.pool_metrics import PoolCollector
from paycore.subscription.billing import Billing
from paycore.subscription.collection import Collection
from paycore.subscription.service import SubscriptionService
from paycore.subscription.servicer import SubscriptionServicer
from paycore.subscription.subscriptions import Subscriptions
from paycore.v1 import (
    account_pb2_grpc,
    customer_pb2_grpc,
    event_pb2_grpc,
    executor_pb2_grpc,
    fraud_pb2_grpc,
    ledger_pb2_grpc,
    payment_pb2_grpc,
    subscription_pb2_grpc,
    wallet_pb2_grpc,
)
from paycore.wallet.service import WalletService
from paycore.wallet.servicer import WalletServicer
from paycore.worker import Job
from paycore.worker.backlog import BacklogGauges, BacklogMetrics, LedgerIntegrityGauge
from paycore.worker.jobs import (
    BalanceAvailability,
    ExecutorResume,
    IdempotencyKeyPruner,
    LedgerHoldExpiry,
    OutboxPublisher,
    PayoutScheduling,
    PayoutTracking,
    SubscriptionBilling,
)
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

HEALTH_CHECK_INTERVAL_SECONDS = 1.0


class OnlyServices:
    """A grpc server as the generated `add_*_to_server` functions see it, passing on only the
    services `include` accepts (the public and internal ports serve different ones)."""

    def __init__(self, server: grpc.aio.Server, include: Callable[[str], bool] | None) -> None:
        self._server = server
        self._include = include or (lambda name: True)

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(handler for handler in handlers if self._include(handler.service_name()))
        )

    def add_registered_method_handlers(self, service_name: str, handlers: Any) -> None:
        if self._include(service_name):
            self._server.add_registered_method_handlers(service_name, handlers)


@dataclass
class Platform:
    settings: Settings
    shards: Shards
    redis: Redis
    metrics: GrpcMetrics
    policies: dict[str, MethodPolicy]
    authenticator: Authenticator
    rate_limiter: RateLimiter
    mutations: Mutations
    accounts: AccountService
    ledger: LedgerService
    coalescer: Coalescer
    wallet: WalletService
    events: EventService
    fraud: FraudService
    fraud_redis: Redis
    """Its own client: short timeouts, so scoring never waits long on a Redis that is down."""
    customers: CustomerService
    pay_in: PayIn
    subscriptions: SubscriptionService
    billing: Subscriptions
    """Subscriptions and invoices (the catalogue is `subscriptions`)."""
    billing_clock: Billing
    pay_out: PayOut
    """Balances that settle, bank accounts, payouts (issue 13)."""
    backlog_metrics: BacklogMetrics
    """Gauges the worker's backlog and integrity jobs set (deploy/prometheus/ alerts on them)."""

    async def close(self) -> None:
        await self.pay_in.close()
        await self.coalescer.close()
        await self.fraud.close()
        await self.redis.aclose()
        await self.fraud_redis.aclose()
        await self.shards.dispose()


def build_platform(
    settings: Settings, registry: CollectorRegistry, clock: Callable[[], float] = time.time
) -> Platform:
    """`clock`: the pay-out clock (balance availability, payout schedules and arrivals);
    tests move it forward."""
    settings.require_servers()
    shards = Shards(settings)
    registry.register(PoolCollector(shards.engines))
    redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    policies = contracts.method_policies()
    hasher = KeyHasher(settings.key_hash_secret)
    ledger = LedgerService(shards)
    fraud_timeout_seconds = settings.fraud_redis_timeout_ms / 1000
    fraud_redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=fraud_timeout_seconds,
        socket_connect_timeout=fraud_timeout_seconds,
    )
    velocity = VelocityCounters(
        fraud_redis, settings.redis_key_prefix, settings.fraud_redis_retry_ms
    )
    mutations = Mutations(shards, IdempotencyStore())
    fraud = FraudService(
        shards, velocity, load_model(settings.fraud_model_path), FraudMetrics(registry)
    )
    customers = CustomerService(
        shards, Vault.from_setting(settings.vault_key), Fingerprinter(settings.card_fingerprint_key)
    )
    # -- pay-out (issue 13): built around the executor, which sends payouts and applies them.
    pay_out_base = build_pay_out_base(settings, shards, ledger, customers, clock)
    pay_in = build_pay_in(
        settings,
        registry,
        shards,
        mutations,
        ledger,
        customers,
        fraud,
        pay_out_base.book,
        PayOutHooks(pay_out_base.lifecycle.complete, pay_out_base.bank_accounts),
    )
    pay_out = build_pay_out(settings, shards, pay_out_base, pay_in.executor, pay_in.psp, clock)
    collection = Collection(OffSessionCharges(shards, pay_in.executor))
    lease = timedelta(milliseconds=settings.executor_lease_ms)
    return Platform(
        settings=settings,
        shards=shards,
        redis=redis,
        metrics=GrpcMetrics(registry),
        policies=policies,
        authenticator=Authenticator(settings, shards, hasher),
        rate_limiter=RateLimiter(redis, settings.rate_limits_per_second, settings.redis_key_prefix),
        mutations=mutations,
        accounts=AccountService(shards, hasher, contracts.scope_resources(policies)),
        ledger=ledger,
        coalescer=Coalescer(ledger),
        wallet=WalletService(shards, ledger, pay_out.reads),
        events=EventService(shards),
        fraud=fraud,
        fraud_redis=fraud_redis,
        customers=customers,
        pay_in=pay_in,
        subscriptions=SubscriptionService(shards),
        billing=Subscriptions(shards, mutations, collection, lease),
        billing_clock=Billing(collection),
        pay_out=pay_out,
        backlog_metrics=BacklogMetrics(registry),
    )


def build_jobs(platform: Platform) -> list[Job]:
    """The worker's jobs (paycore.worker): one line each."""
    settings = platform.settings
    return [
        OutboxPublisher(RedisStreamPublisher(platform.redis, settings.redis_key_prefix)),
        IdempotencyKeyPruner(retention_seconds=settings.idempotency_retention_hours * 3600),
        LedgerHoldExpiry(platform.ledger),
        ExecutorResume(platform.pay_in.executor),
        SubscriptionBilling(platform.billing_clock),
        # -- pay-out (issue 13)
        BalanceAvailability(platform.pay_out.availability),
        PayoutScheduling(platform.pay_out.scheduler),
        PayoutTracking(platform.pay_out.tracker),
        BacklogGauges(platform.backlog_metrics, platform.shards.engines),
        LedgerIntegrityGauge(platform.backlog_metrics, platform.shards.engines),
    ]


def interceptors(platform: Platform) -> list[aio.ServerInterceptor]:
    """Outermost first: every call is counted and logged, and every error mapped, even those of
    authentication and rate limiting."""
    policies = platform.policies
    return [
        MetricsInterceptor(platform.metrics),
        RequestLogInterceptor(policies),
        ErrorInterceptor(policies),
        RequestSizeInterceptor(policies),
        HeaderInterceptor(policies, platform.settings.trusted_proxies),
        AuthenticationInterceptor(policies, platform.authenticator),
        IdempotencyKeyInterceptor(policies),
        RateLimitInterceptor(policies, platform.rate_limiter),
    ]


async def start_server(platform: Platform, address: str) -> GrpcServer:
    """A gRPC server with the platform's interceptors and servicers, listening on `address`;
    its health follows the shards' (NOT_SERVING while one is unreachable), and it routes by
    the current shard map and follows its changes (paycore.storage.shards)."""
    await platform.shards.watch_map()
    internal = internal_services(platform.policies)
    internal_address = platform.settings.internal_grpc_addr
    if not internal_address:
        # One port: the internal services answer only operator credentials there, and
        # reflection does not list them (ghz and grpcurl still see every merchant service).
        server = await start_grpc_server(
            address,
            interceptors(platform),
            lambda server: add_servicers(platform, server),
            hidden=internal,
        )
    else:
        server = await start_grpc_server(
            address,
            interceptors(platform),
            lambda server: add_servicers(platform, server, lambda name: name not in internal),
            hidden=internal,
        )
        server.internal = await start_grpc_server(
            internal_address,
            interceptors(platform),
            lambda server: add_servicers(platform, server, lambda name: name in internal),
        )
        server.internal.watch(platform.shards.reachable, HEALTH_CHECK_INTERVAL_SECONDS)
    server.watch(platform.shards.reachable, HEALTH_CHECK_INTERVAL_SECONDS)
    return server


def add_servicers(
    platform: Platform, server: grpc.aio.Server, include: Callable[[str], bool] | None = None
) -> list[str]:
    """Registers the implemented services (those `include` accepts); returns their full names.
    Services not yet implemented stay unregistered, so their methods answer UNIMPLEMENTED."""
    registered = _add_servicers(platform, cast(grpc.aio.Server, OnlyServices(server, include)))
    return [name for name in registered if include is None or include(name)]


def _add_servicers(platform: Platform, server: grpc.aio.Server) -> list[str]:
    account_pb2_grpc.add_AccountServiceServicer_to_server(
        AccountServicer(
            platform.accounts, platform.shards, platform.mutations, platform.authenticator
        ),
        server,
    )
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(
        LedgerServicer(platform.ledger, platform.coalescer, platform.mutations), server
    )
    wallet_pb2_grpc.add_WalletServiceServicer_to_server(WalletServicer(platform.wallet), server)
    event_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(platform.events), server)
    fraud_pb2_grpc.add_FraudServiceServicer_to_server(
        FraudServicer(platform.fraud, platform.shards, platform.mutations), server
    )
    customer_pb2_grpc.add_CustomerServiceServicer_to_server(
        CustomerServicer(platform.customers, platform.mutations), server
    )
    pay_in = platform.pay_in
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(
        PaymentServicer(
            pay_in.intents, pay_in.checkouts, pay_in.refunds, platform.accounts, platform.customers
        ),
        server,
    )
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(
        ExecutorServicer(pay_in.executor), server
    )
    subscription_pb2_grpc.add_SubscriptionServiceServicer_to_server(
        SubscriptionServicer(platform.subscriptions, platform.billing, platform.mutations),
        server,
    )
    pay_out = platform.pay_out
    payout_service = payout_servicer.register(
        server,
        pay_out.bank_accounts,
        pay_out.payouts,
        pay_out.schedules,
        pay_out.reads,
        platform.mutations,
    )
    return [
        payout_service,
        "paycore.v1.AccountService",
        "paycore.v1.LedgerService",
        "paycore.v1.WalletService",
        "paycore.v1.EventService",
        "paycore.v1.FraudService",
        "paycore.v1.CustomerService",
        "paycore.v1.PaymentService",
        "paycore.v1.ExecutorService",
        "paycore.v1.SubscriptionService",
    ]
