from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from grpc import aio
from paycore.client.service_config import channel_options, mutating_methods
from paycore.client.tls import Tls
from paycore.v1 import (
    account_pb2_grpc,
    customer_pb2_grpc,
    event_pb2_grpc,
    executor_pb2_grpc,
    fraud_pb2_grpc,
    ledger_pb2_grpc,
    payment_pb2_grpc,
    payout_pb2_grpc,
    reconciliation_pb2_grpc,
    subscription_pb2_grpc,
    wallet_pb2_grpc,
)

Metadata = tuple[tuple[str, str], ...]
DEFAULT_TIMEOUT_SECONDS = 10.0
"""Every call's deadline unless it passes `timeout=`: no call waits forever."""
IDEMPOTENCY_KEY = "idempotency-key"
SERVICES = [
    "paycore.v1.AccountService",
    "paycore.v1.CustomerService",
    "paycore.v1.PaymentService",
    "paycore.v1.ExecutorService",
    "paycore.v1.FraudService",
    "paycore.v1.WalletService",
    "paycore.v1.LedgerService",
    "paycore.v1.PayoutService",
    "paycore.v1.SubscriptionService",
    "paycore.v1.EventService",
    "paycore.v1.ReconciliationService",
]


def idempotency_key(key: str) -> Metadata:
    """Per-call metadata that makes a mutating call safe to retry."""
    return ((IDEMPOTENCY_KEY, key),)


class _CallDefaults(aio.UnaryUnaryClientInterceptor):
    """The API key on every call, a default deadline, and an idempotency key on every mutating
    call that has none (so that the channel's retries never apply a change twice)."""

    def __init__(
        self, api_key: str, acting_for: str | None, timeout_seconds: float, keys: bool
    ) -> None:
        self._metadata: Metadata = (("authorization", f"Bearer {api_key}"),)
        if acting_for:
            self._metadata += (("paycore-merchant", acting_for),)
        self._timeout_seconds = timeout_seconds
        self._mutating = mutating_methods() if keys else frozenset()

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        given = tuple(client_call_details.metadata or ())
        metadata = aio.Metadata(*self._metadata, *given)
        method = client_call_details.method
        path = method.decode() if isinstance(method, bytes) else method
        if path in self._mutating and not any(key == IDEMPOTENCY_KEY for key, _ in given):
            metadata.add(IDEMPOTENCY_KEY, str(uuid.uuid4()))
        timeout = client_call_details.timeout
        details = aio.ClientCallDetails(
            method,
            self._timeout_seconds if timeout is None else timeout,
            metadata,
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


class Paycore:
    """Stubs for every paycore service over one channel."""

    def __init__(self, channel: aio.Channel) -> None:
        self.channel = channel
        self.accounts = account_pb2_grpc.AccountServiceStub(channel)
        self.customers = customer_pb2_grpc.CustomerServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.executor = executor_pb2_grpc.ExecutorServiceStub(channel)
        self.fraud = fraud_pb2_grpc.FraudServiceStub(channel)
        self.wallet = wallet_pb2_grpc.WalletServiceStub(channel)
        self.ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
        self.payouts = payout_pb2_grpc.PayoutServiceStub(channel)
        self.subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        self.events = event_pb2_grpc.EventServiceStub(channel)
        self.reconciliation = reconciliation_pb2_grpc.ReconciliationServiceStub(channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> Paycore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def connect(
    target: str,
    api_key: str,
    *,
    acting_for: str | None = None,
    tls: Tls | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    retries: bool = True,
) -> Paycore:
    """A client for `target` ("host:port") authenticated with `api_key`. Operators using the
    admin token may act for a merchant by naming it in `acting_for`.

    `tls`: TLS to the server (and a client certificate for mTLS); plaintext without it.
    `timeout_seconds`: the deadline of a call that passes no `timeout=`.
    `retries`: UNAVAILABLE is retried (up to 4 attempts, 0.1 s backoff doubling); every
    mutating call then carries an idempotency key, a fresh UUID unless the call gives one.
    With False, nothing is retried and no key is added."""
    interceptors = [_CallDefaults(api_key, acting_for, timeout_seconds, retries)]
    options = channel_options(SERVICES) if retries else channel_options([])
    if tls is None:
        channel = aio.insecure_channel(target, options=options, interceptors=interceptors)
    else:
        options = [*options, *tls.channel_options()]
        channel = aio.secure_channel(
            target, tls.credentials(), options=options, interceptors=interceptors
        )
    return Paycore(channel)
