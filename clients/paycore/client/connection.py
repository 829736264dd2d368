from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, cast

from grpc import aio
from paycore.client.service_config import channel_options, keyed_methods, mutating_methods
from paycore.client.tls import Tls
from paycore.v1 import (
    account_pb2_grpc,
    checkout_pb2_grpc,
    currency_pb2_grpc,
    customer_pb2_grpc,
    dispute_pb2_grpc,
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


REPLAYED = "paycore-idempotent-replayed"
"""The trailing metadata the server adds (value "true") when it answered a call with an
idempotency key from the key's stored answer instead of executing it."""


def idempotency_key(key: str) -> Metadata:
    """Per-call metadata that makes a mutating call safe to retry."""
    return ((IDEMPOTENCY_KEY, key),)


async def replayed(call: aio.Call | aio.AioRpcError) -> bool:
    """Whether the answer of `call` (a stub's call object, awaited for its response, or the
    error it raised) was the stored answer of an earlier call with the same idempotency key
    (its trailing `paycore-idempotent-replayed: true`), not a fresh execution:

        call = paycore.customers.CreateCustomer(request, metadata=idempotency_key("k-1"))
        customer = await call
        if await replayed(call): ...
    """
    if isinstance(call, aio.AioRpcError):
        trailing = call.trailing_metadata()
    else:
        trailing = await call.trailing_metadata()
    return any(key == REPLAYED and value == "true" for key, value in trailing or ())


class _CallDefaults(aio.UnaryUnaryClientInterceptor):
    """The API key on every call, and a default deadline."""

    def __init__(self, api_key: str, acting_for: str | None, timeout_seconds: float) -> None:
        self._metadata: Metadata = (("authorization", f"Bearer {api_key}"),)
        if acting_for:
            self._metadata += (("paycore-merchant", acting_for),)
        self._timeout_seconds = timeout_seconds

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = aio.Metadata(*self._metadata, *(client_call_details.metadata or ()))
        timeout = client_call_details.timeout
        details = aio.ClientCallDetails(
            client_call_details.method,
            self._timeout_seconds if timeout is None else timeout,
            metadata,
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


def generated_key() -> str:
    """A fresh idempotency key for a call the caller sent without one (a random UUID, as
    Stripe's SDKs give every POST)."""
    return str(uuid.uuid4())


class _Routed:
    """One mutating method: over the retrying channel when the call carries an idempotency
    key (a retry is then a replay), else over the channel that never retries. With
    `generate`, a call without a key is given a fresh one first (once per call, so that every
    attempt gRPC makes of it carries the same key)."""

    def __init__(self, retrying: Any, single: Any, *, generate: bool) -> None:
        self._retrying = retrying
        self._single = single
        self._generate = generate

    def __call__(self, request: Any, *, metadata: Any = None, **options: Any) -> Any:
        keyed = any(key == IDEMPOTENCY_KEY for key, _ in metadata or ())
        if not keyed and self._generate:
            metadata = (*(metadata or ()), (IDEMPOTENCY_KEY, generated_key()))
            keyed = True
        chosen = self._retrying if keyed else self._single
        return chosen(request, metadata=metadata, **options)


class _RoutingChannel:
    """What the stubs are built on: calls that do not mutate, and mutating calls with an
    idempotency key (the caller's, else one the client generates), go over `retrying` (its
    service config retries UNAVAILABLE); a mutating call without a key (`idempotency_keys=False`,
    or a method in WITHOUT_GENERATED_KEY) goes over `single`, which does not retry (a second
    attempt could apply the change twice). gRPC's retry policy is per method, not per call,
    hence two channels; the second connects only when first used."""

    def __init__(
        self, retrying: aio.Channel, single: aio.Channel, *, idempotency_keys: bool = True
    ) -> None:
        self.retrying = retrying
        self.single = single
        self._mutating = mutating_methods()
        self._generated = keyed_methods() if idempotency_keys else frozenset()

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        retrying = self.retrying.unary_unary(method, *args, **kwargs)
        if method not in self._mutating:
            return retrying
        single = self.single.unary_unary(method, *args, **kwargs)
        return _Routed(retrying, single, generate=method in self._generated)

    async def close(self) -> None:
        await self.retrying.close()
        await self.single.close()


class Paycore:
    """Stubs for every paycore service over one channel (two with retries: see
    _RoutingChannel); `channel` is the one for health checks and readiness."""

    def __init__(self, channel: aio.Channel, routing: _RoutingChannel | None = None) -> None:
        self.channel = channel
        self._routing = routing
        if routing is not None:
            channel = cast(aio.Channel, routing)
        self.accounts = account_pb2_grpc.AccountServiceStub(channel)
        self.customers = customer_pb2_grpc.CustomerServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.executor = executor_pb2_grpc.ExecutorServiceStub(channel)
        self.fraud = fraud_pb2_grpc.FraudServiceStub(channel)
        self.wallet = wallet_pb2_grpc.WalletServiceStub(channel)
        self.ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
        self.payouts = payout_pb2_grpc.PayoutServiceStub(channel)
        self.disputes = dispute_pb2_grpc.DisputeServiceStub(channel)
        self.subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        self.events = event_pb2_grpc.EventServiceStub(channel)
        self.reconciliation = reconciliation_pb2_grpc.ReconciliationServiceStub(channel)
        self.checkout = checkout_pb2_grpc.CheckoutServiceStub(channel)
        self.currencies = currency_pb2_grpc.CurrencyServiceStub(channel)

    async def close(self) -> None:
        if self._routing is not None:
            await self._routing.close()
        else:
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
    idempotency_keys: bool = True,
) -> Paycore:
    """A client for `target` ("host:port") authenticated with `api_key`. Operators using the
    admin token may act for a merchant by naming it in `acting_for`.

    `tls`: TLS to the server (and a client certificate for mTLS); plaintext without it.
    `timeout_seconds`: the deadline of a call that passes no `timeout=`.
    `retries`: UNAVAILABLE is retried (up to 4 attempts, 0.1 s backoff doubling) for calls
    that do not mutate and for mutating calls that carry an idempotency key.
    `idempotency_keys`: with retries, a mutating call sent without an idempotency key gets a
    fresh one (a random UUID, the same on each of its attempts), so it is retried safely, as
    Stripe's SDKs key every POST; False sends such a call without a key and never retries it.
    Pass a key of your own (`idempotency_key(...)`) to retry a call yourself later: the
    generated one is known only to that call."""
    interceptors = [_CallDefaults(api_key, acting_for, timeout_seconds)]

    def channel(options: list[tuple[str, Any]]) -> aio.Channel:
        if tls is None:
            return aio.insecure_channel(target, options=options, interceptors=interceptors)
        options = [*options, *tls.channel_options()]
        return aio.secure_channel(
            target, tls.credentials(), options=options, interceptors=interceptors
        )

    single = channel(channel_options(retrying=False))
    if not retries:
        return Paycore(single)
    retrying = channel(channel_options(retrying=True))
    return Paycore(retrying, _RoutingChannel(retrying, single, idempotency_keys=idempotency_keys))
