"""The composition root: builds every long-lived object of a paycore process from Settings,
once, and hands them to whoever needs them. Nothing else creates engines or clients."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import grpc
from grpc import aio
from paycore import contracts
from paycore.account import servicer as account_servicer
from paycore.account.authentication import Authenticator
from paycore.account.keys import KeyHasher
from paycore.account.service import AccountService
from paycore.checkout import servicer as checkout_servicer
from paycore.checkout.page_secrets import PageSecrets
from paycore.checkout.servicer.messages import SessionMessages
from paycore.checkout.sessions import CheckoutSessions, PageKeys
from paycore.config import Settings
from paycore.currency import servicer as currency_servicer
from paycore.currency.crossing import Crossings
from paycore.currency.job import ExchangeRatesJob
from paycore.currency.providers import EcbFileRates, RatesProvider, SimulatorRates
from paycore.currency.rates import Rates
from paycore.currency.rules import CurrencyRules
from paycore.currency.service import Currencies
from paycore.currency.settlement import Conversions
from paycore.customer import servicer as customer_servicer
from paycore.customer.events import CustomerEvents
from paycore.customer.service import CustomerService
from paycore.customer.servicer.messages import customer_message, payment_method_message
from paycore.customer.vault import Fingerprinter, Vault
from paycore.customer.wallets import WalletCryptograms
from paycore.dispute import servicer as dispute_servicer
from paycore.dispute.feed import dispute_feed
from paycore.dispute.models import DisputeFees
from paycore.dispute.money import DisputeMoney
from paycore.dispute.service import Disputes
from paycore.dispute.servicer.messages import dispute_message
from paycore.events import Recorder
from paycore.events import servicer as events_servicer
from paycore.events.publishing import RedisStreamPublisher
from paycore.events.service import EventService
from paycore.events.servicer import event_json
from paycore.executor import servicer as executor_servicer
from paycore.fraud import servicer as fraud_servicer
from paycore.fraud.early_warnings import EarlyFraudWarningFeed, early_fraud_warning_feed
from paycore.fraud.metrics import FraudMetrics
from paycore.fraud.model import load_model
from paycore.fraud.service import FraudService
from paycore.fraud.servicer.messages import early_fraud_warning_message, review_message
from paycore.fraud.velocity import VelocityCounters
from paycore.ledger import servicer as ledger_servicer
from paycore.ledger.coalescer import Coalescer
from paycore.ledger.service import LedgerService
from paycore.payment import servicer as payment_servicer
from paycore.payment.authenticated import Authentications, authentication_feed
from paycore.payment.client_secrets import ClientSecrets
from paycore.payment.pay_in import PayIn
from paycore.payment.services import PayOutHooks, build_pay_in
from paycore.payout import servicer as payout_servicer
from paycore.payout.services import PayOut, build_pay_out, build_pay_out_base
from paycore.ratelimit import RateLimiter
from paycore.reconciliation import servicer as reconciliation_servicer
from paycore.reconciliation.build import build_reconciliation
from paycore.reconciliation.job import daily_reconciliation
from paycore.reconciliation.service import Reconciliation
from paycore.runtime.interceptors import (
    AuthenticationInterceptor,
    ErrorInterceptor,
    HeaderInterceptor,
    IdempotencyKeyInterceptor,
    InterceptorChain,
    MetricsInterceptor,
    RateLimitInterceptor,
    RequestLogInterceptor,
    RequestSizeInterceptor,
)
from paycore.runtime.metrics import GrpcMetrics
from paycore.runtime.mutations import Mutations
from paycore.runtime.policy import MethodPolicy, internal_services
from paycore.runtime.server import GrpcServer, start_grpc_server
from paycore.runtime.tls import grpc_server_tls
from paycore.storage import IdempotencyStore, Shards
from paycore.storage.pool_metrics import PoolCollector
from paycore.storage.reads import Reads
from paycore.subscription import servicer as subscription_servicer
from paycore.subscription.billing import Billing
from paycore.subscription.changes import end_subscriptions as end_subscriptions_of
from paycore.subscription.collection import Collection
from paycore.subscription.events import SubscriptionEvents
from paycore.subscription.service import SubscriptionService
from paycore.subscription.servicer.messages import (
    clock_message,
    coupon_message,
    discount_message,
    invoice_message,
    item_message,
    price_message,
    product_message,
    subscription_message,
)
from paycore.subscription.subscriptions import Subscriptions
from paycore.wallet import servicer as wallet_servicer
from paycore.wallet.service import WalletService
from paycore.webhooks.addresses import AddressPolicy
from paycore.webhooks.deliveries import Deliveries
from paycore.webhooks.delivering import Deliverer, DeliveryLimits
from paycore.webhooks.endpoints import Endpoints
from paycore.webhooks.schedule import RetrySchedule
from paycore.webhooks.sealing import SecretBox
from paycore.webhooks.sender import Sender
from paycore.webhooks.servicer import WebhookServicer
from paycore.webhooks.servicer.messages import endpoint_message
from paycore.worker import Job
from paycore.worker.backlog import BacklogGauges, BacklogMetrics, LedgerIntegrityGauge
from paycore.worker.jobs import (
    balance_availability,
    checkout_session_sweep,
    executor_resume,
    idempotency_key_pruner,
    ledger_hold_expiry,
    outbox_publisher,
    payout_scheduling,
    payout_tracking,
    subscription_billing,
    webhook_delivery,
)
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection

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
    # webhooks (issue 15)
    webhook_endpoints: Endpoints
    webhook_deliveries: Deliveries
    deliverer: Deliverer
    """The worker's side: fan-out and attempts (its HTTP client is made on first use)."""
    backlog_metrics: BacklogMetrics
    """Gauges the worker's backlog and integrity jobs set (deploy/prometheus/ alerts on them)."""
    # reconciliation (issue 14)
    reconciliation: Reconciliation
    # disputes (issue 22)
    disputes: Disputes
    # hosted payment pages (issue 21)
    checkout: CheckoutSessions
    checkout_messages: SessionMessages
    # currencies (issue 19)
    currencies: Currencies
    # 3-D Secure finished by the buyer's answer (the PSP's authentications feed)
    authentications: Authentications
    # The issuers' early fraud warnings (the PSP's warnings feed)
    early_fraud_warnings: EarlyFraudWarningFeed

    async def close(self) -> None:
        await self.deliverer.close(self.shards.engines, self.settings.shutdown_grace_seconds)
        # Phased calls whose callers left finish, then group commits what their callers left
        # queued, before anything closes under them.
        await self.mutations.finished()
        await self.pay_in.executor.drained()
        await self.mutations.drained()
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
    reads = Reads(shards)
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
    lease = timedelta(milliseconds=settings.executor_lease_ms)
    mutations = Mutations(shards, IdempotencyStore(), lease, settings.executor_group_commit_max)
    vault = Vault.from_setting(settings.vault_key)
    subscription_events = SubscriptionEvents(
        Recorder(product_message),
        Recorder(price_message),
        Recorder(subscription_message),
        Recorder(invoice_message),
        Recorder(item_message),
        Recorder(clock_message),
        Recorder(coupon_message),
        Recorder(discount_message),
    )

    async def end_subscriptions(
        connection: AsyncConnection, merchant_id: str, customer_id: str
    ) -> None:
        # DeleteCustomer's first step. `collection` is built below: the subscriptions charge
        # through pay-in, which needs `customers`; a deletion runs only once serving starts.
        await end_subscriptions_of(collection, connection, merchant_id, customer_id=customer_id)

    customers = CustomerService(
        shards,
        reads,
        vault,
        Fingerprinter(settings.card_fingerprint_key),
        CustomerEvents(
            Recorder(customer_message),
            Recorder(payment_method_message),
            Recorder(discount_message),
        ),
        WalletCryptograms(
            redis, settings.redis_key_prefix, vault, settings.wallet_cryptogram_ttl_seconds
        ),
        end_subscriptions,
    )
    model = load_model(settings.fraud_model_path)
    # -- pay-out (issue 13): built around the executor, which sends payouts and applies them.
    pay_out_base = build_pay_out_base(settings, shards, ledger, customers, clock, registry)
    # -- currencies (issue 19): conversions book into pay-out's balance book.
    conversions = Conversions(
        ledger,
        pay_out_base.book,
        Rates(reads, settings.fx_rate_max_age_seconds, clock),
        settings.fx_conversion_fee_bps,
    )
    crossings = Crossings(conversions, pay_out_base.book)
    pay_in = build_pay_in(
        settings,
        registry,
        shards,
        ledger,
        customers,
        lambda listener: FraudService(
            shards,
            velocity,
            model,
            FraudMetrics(registry),
            Recorder(review_message),
            review_listener=listener,
        ),
        pay_out_base.book,
        conversions,
        crossings,
        PayOutHooks(pay_out_base.lifecycle.complete, pay_out_base.bank_accounts),
    )
    fraud = pay_in.fraud
    currency_rules = CurrencyRules(settings.currency_rules_psp)
    pay_out = build_pay_out(
        settings,
        shards,
        pay_out_base,
        pay_in.executor,
        pay_in.psp,
        clock,
        currency_rules,
        crossings,
    )
    collection = Collection(pay_in.off_session, subscription_events, currency_rules)
    webhook_box = SecretBox(Vault.from_setting(settings.vault_key))
    accounts = AccountService(shards, reads, hasher, contracts.scope_resources(policies))
    page_secrets = PageSecrets(settings.key_hash_secret)
    checkout_messages = SessionMessages(settings.pages_url, page_secrets)
    currencies = Currencies(shards, conversions, crossings, currency_rules)
    catalogue = SubscriptionService(reads, subscription_events)
    return Platform(
        settings=settings,
        shards=shards,
        redis=redis,
        metrics=GrpcMetrics(registry),
        policies=policies,
        authenticator=Authenticator(settings, shards, hasher),
        rate_limiter=RateLimiter(
            redis,
            settings.rate_limits_per_second,
            settings.redis_key_prefix,
            merchant_factor=settings.rate_limit_merchant_factor,
        ),
        mutations=mutations,
        accounts=accounts,
        ledger=ledger,
        coalescer=Coalescer(ledger),
        wallet=WalletService(shards, ledger, pay_out.reads, pay_out.availability, pay_out.payouts),
        events=EventService(reads),
        fraud=fraud,
        fraud_redis=fraud_redis,
        customers=customers,
        pay_in=pay_in,
        subscriptions=catalogue,
        billing=Subscriptions(shards, collection, lease, customers, customers.delete_customer),
        billing_clock=Billing(collection),
        pay_out=pay_out,
        webhook_endpoints=Endpoints(reads, webhook_box),
        webhook_deliveries=Deliveries(shards, retry_schedule(settings).give_up_after),
        deliverer=build_deliverer(settings, webhook_box),
        backlog_metrics=BacklogMetrics(registry),
        reconciliation=build_reconciliation(
            settings,
            registry,
            shards,
            ledger,
            clock,
            balances=pay_out_base.book,
            lifecycle=pay_out_base.lifecycle,
        ),
        disputes=Disputes(
            shards,
            reads,
            DisputeMoney(pay_out.book, conversions),
            pay_in.psp,
            fraud,
            DisputeFees(
                settings.dispute_fee,
                settings.dispute_fee_returned_on_win,
                settings.dispute_evidence_chars_max,
            ),
            Recorder(dispute_message),
        ),
        checkout=CheckoutSessions(
            shards,
            reads,
            pay_in.intents,
            PageKeys(accounts, Vault.from_setting(settings.vault_key)),
            Recorder(checkout_messages.session),
            page_secrets,
            currency_rules,
            catalogue,
            customers,
        ),
        checkout_messages=checkout_messages,
        currencies=currencies,
        authentications=Authentications(
            shards, pay_in.psp, pay_in.intents, pay_in.setups, currencies, clock
        ),
        early_fraud_warnings=EarlyFraudWarningFeed(
            shards, pay_in.psp, Recorder(early_fraud_warning_message)
        ),
    )


def rates_provider(settings: Settings) -> RatesProvider | None:
    """The rates job's provider (PAYCORE_FX_RATES_PROVIDER); None: no rates job."""
    if settings.fx_rates_provider == "simulator":
        return SimulatorRates(settings.psp_url)
    if settings.fx_rates_provider == "ecb_file" and settings.fx_rates_file:
        return EcbFileRates(Path(settings.fx_rates_file))
    return None


def build_deliverer(settings: Settings, box: SecretBox) -> Deliverer:
    """The webhook deliverer of a process; only the worker runs it (webhook_delivery job)."""
    sender = Sender(
        timeout_seconds=settings.webhook_timeout_ms / 1000,
        connections_max=settings.webhook_in_flight_max,
        connections_per_host_max=settings.webhook_in_flight_max,
        allow_private=settings.webhook_allow_private,
    )
    limits = DeliveryLimits(
        in_flight_max=settings.webhook_in_flight_max,
        endpoint_concurrency=settings.webhook_endpoint_concurrency,
        lease=timedelta(milliseconds=settings.webhook_lease_ms),
        schedule=retry_schedule(settings),
    )
    return Deliverer(sender, box, event_json, Recorder(endpoint_message), limits)


def retry_schedule(settings: Settings) -> RetrySchedule:
    return RetrySchedule(
        settings.webhook_retry_schedule_seconds,
        timedelta(seconds=settings.webhook_give_up_seconds),
    )


def address_policy(settings: Settings) -> AddressPolicy:
    return AddressPolicy(
        allow_http=settings.webhook_allow_http, allow_private=settings.webhook_allow_private
    )


def build_jobs(platform: Platform) -> list[Job]:
    """The worker's jobs (paycore.worker): one line each."""
    settings = platform.settings
    return [
        outbox_publisher(RedisStreamPublisher(platform.redis, settings.redis_key_prefix)),
        idempotency_key_pruner(retention_seconds=settings.idempotency_retention_hours * 3600),
        ledger_hold_expiry(platform.ledger),
        executor_resume(platform.pay_in.executor),
        subscription_billing(platform.billing_clock),
        webhook_delivery(platform.deliverer),
        # -- pay-out (issue 13)
        balance_availability(platform.pay_out.availability),
        payout_scheduling(platform.pay_out.scheduler),
        payout_tracking(platform.pay_out.tracker),
        BacklogGauges(platform.backlog_metrics, platform.shards.engines),
        LedgerIntegrityGauge(platform.backlog_metrics, platform.shards.engines),
        daily_reconciliation(
            platform.reconciliation.runs, settings.reconciliation_daily_at_minutes
        ),
        dispute_feed(platform.disputes, platform.shards),
        authentication_feed(platform.authentications, platform.shards),
        early_fraud_warning_feed(platform.early_fraud_warnings, platform.shards),
        checkout_session_sweep(platform.checkout),
        # -- currencies (issue 19)
        *rates_jobs(platform),
    ]


def rates_jobs(platform: Platform) -> list[Job]:
    provider = rates_provider(platform.settings)
    if provider is None:
        return []
    rates, interval = platform.currencies.rates, platform.settings.fx_rates_interval_seconds
    return [ExchangeRatesJob(provider, rates, interval)]


def interceptors(platform: Platform) -> list[aio.ServerInterceptor]:
    """Outermost first: every call is counted and logged, and every error mapped, even those of
    authentication and rate limiting. One chain: grpc.aio would await each interceptor's
    `intercept_service` on every call."""
    policies = platform.policies
    chain = [
        MetricsInterceptor(platform.metrics),
        RequestLogInterceptor(policies, platform.settings.request_log_per_second),
        ErrorInterceptor(policies),
        RequestSizeInterceptor(policies),
        HeaderInterceptor(policies, platform.settings.trusted_proxies),
        AuthenticationInterceptor(policies, platform.authenticator),
        IdempotencyKeyInterceptor(policies),
        RateLimitInterceptor(policies, platform.rate_limiter),
    ]
    return [InterceptorChain(chain)]


async def start_server(platform: Platform, address: str, *, share_port: bool = False) -> GrpcServer:
    """A gRPC server with the platform's interceptors and servicers, listening on `address`
    (shared with the other workers of `serve --workers N` with `share_port`); its health
    follows the shards' (NOT_SERVING while none answers), and it routes by the current
    shard map and follows its changes (paycore.storage.shards)."""
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
            tls=grpc_server_tls(platform.settings, internal_port=True),
            share_port=share_port,
        )
    else:
        server = await start_grpc_server(
            address,
            interceptors(platform),
            lambda server: add_servicers(platform, server, lambda name: name not in internal),
            hidden=internal,
            tls=grpc_server_tls(platform.settings, internal_port=False),
            share_port=share_port,
        )
        try:
            server.internal = await start_grpc_server(
                internal_address,
                interceptors(platform),
                lambda server: add_servicers(platform, server, lambda name: name in internal),
                # Reflection there describes that port: the merchant services are not on it.
                hidden=frozenset(contracts.service_names()) - internal,
                tls=grpc_server_tls(platform.settings, internal_port=True),
                share_port=share_port,
            )
        except BaseException:
            # The internal port taken: the public server would keep serving from a process
            # whose start failed.
            await server.stop(0)
            raise
        server.internal.watch(platform.shards.any_reachable, HEALTH_CHECK_INTERVAL_SECONDS)
    server.watch(platform.shards.any_reachable, HEALTH_CHECK_INTERVAL_SECONDS)
    return server


def add_servicers(
    platform: Platform, server: grpc.aio.Server, include: Callable[[str], bool] | None = None
) -> list[str]:
    """Registers the implemented services (those `include` accepts); returns their full names,
    which is what health reports SERVING. Services not yet implemented stay unregistered, so
    their methods answer UNIMPLEMENTED."""
    registered = _add_servicers(platform, cast(grpc.aio.Server, OnlyServices(server, include)))
    return [name for name in registered if include is None or include(name)]


def _add_servicers(platform: Platform, server: grpc.aio.Server) -> list[str]:
    """Each service folder's register(), one line each: the names are what they return."""
    pay_in = platform.pay_in
    client_secrets = ClientSecrets(platform.settings.key_hash_secret)
    webhooks = WebhookServicer(
        platform.webhook_endpoints,
        platform.webhook_deliveries,
        platform.mutations,
        address_policy(platform.settings),
    )
    return [
        account_servicer.register(
            server, platform.accounts, platform.shards, platform.mutations, platform.authenticator
        ),
        ledger_servicer.register(server, platform.ledger, platform.coalescer, platform.mutations),
        wallet_servicer.register(server, platform.wallet),
        customer_servicer.register(server, platform.customers, platform.mutations),
        fraud_servicer.register(server, platform.fraud, platform.mutations),
        events_servicer.register(server, platform.events, webhooks),
        payment_servicer.register(
            server,
            pay_in,
            platform.mutations,
            platform.accounts,
            platform.customers,
            client_secrets,  # clients: Stripe's client_secret
            platform.currencies,
            platform.authentications,
        ),
        executor_servicer.register(server, pay_in.executor),
        subscription_servicer.register(
            server,
            platform.subscriptions,
            platform.billing,
            platform.mutations,
            platform.currencies.rules,
        ),
        reconciliation_servicer.register(server, platform.reconciliation, platform.mutations),
        dispute_servicer.register(server, platform.disputes, platform.mutations),
        checkout_servicer.register(
            server,
            platform.checkout,
            platform.checkout_messages,
            platform.customers,
            platform.currencies,
            client_secrets,
            platform.mutations,
            platform.subscriptions,
        ),
        # -- pay-out (issue 13)
        payout_servicer.register(
            server,
            platform.pay_out.bank_accounts,
            platform.pay_out.payouts,
            platform.pay_out.schedules,
            platform.pay_out.reads,
            platform.mutations,
            platform.currencies.rules,
            platform.pay_out.transfers,
        ),
        # -- currencies (issue 19)
        currency_servicer.register(
            server, platform.currencies, platform.accounts, platform.mutations
        ),
    ]
