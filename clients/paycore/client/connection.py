from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from grpc import aio
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


def idempotency_key(key: str) -> Metadata:
    """Per-call metadata that makes a mutating call safe to retry."""
    return (("idempotency-key", key),)


class _BearerAuth(aio.UnaryUnaryClientInterceptor):
    def __init__(self, api_key: str, acting_for: str | None) -> None:
        self._metadata: Metadata = (("authorization", f"Bearer {api_key}"),)
        if acting_for:
            self._metadata += (("paycore-merchant", acting_for),)

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = aio.Metadata(*self._metadata, *(client_call_details.metadata or ()))
        details = aio.ClientCallDetails(
            client_call_details.method,
            client_call_details.timeout,
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


def connect(target: str, api_key: str, *, acting_for: str | None = None) -> Paycore:
    """A client for `target` ("host:port") authenticated with `api_key`. Operators using the
    admin token may act for a merchant by naming it in `acting_for`."""
    channel = aio.insecure_channel(target, interceptors=[_BearerAuth(api_key, acting_for)])
    return Paycore(channel)
