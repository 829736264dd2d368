"""The channels' gRPC service config and options: retries of UNAVAILABLE, keepalive.

gRPC retries a call whose attempt answered UNAVAILABLE (the server restarting, a connection
that broke) with the retry policy below. That is safe for a method that does not mutate, and for
a mutating call that carries an idempotency key: the server answers a replay with the stored
response. Which methods mutate is the contract's `(paycore.v1.policy).mutating` option; the
client sends keyless mutating calls over a channel without the policy
(paycore.client.connection._RoutingChannel)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from paycore import v1
from paycore.v1 import common_pb2

RETRY_ATTEMPTS_MAX = 4
"""The first attempt and three retries, 0.1 s, 0.2 s, 0.4 s apart (gRPC adds jitter)."""
KEEPALIVE_TIME_MS = 30_000
"""A ping after 30 s without traffic finds a dead connection (a dropped NAT entry, a peer
that vanished) before a call waits on it; the server permits pings every 10 s."""
KEEPALIVE_TIMEOUT_MS = 10_000


@cache
def mutating_methods() -> frozenset[str]:
    """Full method paths ("/paycore.v1.PaymentService/CreatePaymentIntent") that mutate."""
    import importlib
    import pkgutil

    found = set()
    for module in pkgutil.iter_modules(v1.__path__):
        if not module.name.endswith("_pb2") or module.name.endswith("_grpc"):
            continue
        file = importlib.import_module(f"paycore.v1.{module.name}").DESCRIPTOR
        for service in file.services_by_name.values():
            for method in service.methods:
                if method.GetOptions().Extensions[common_pb2.policy].mutating:
                    found.add(f"/{service.full_name}/{method.name}")
    return frozenset(found)


SERVICES = (
    "paycore.v1.AccountService",
    "paycore.v1.CustomerService",
    "paycore.v1.PaymentService",
    "paycore.v1.ExecutorService",
    "paycore.v1.FraudService",
    "paycore.v1.WalletService",
    "paycore.v1.LedgerService",
    "paycore.v1.PayoutService",
    "paycore.v1.DisputeService",
    "paycore.v1.SubscriptionService",
    "paycore.v1.EventService",
    "paycore.v1.ReconciliationService",
)


def service_config() -> str:
    """Every paycore method retries UNAVAILABLE (on the retrying channel)."""
    policy = {
        "maxAttempts": RETRY_ATTEMPTS_MAX,
        "initialBackoff": "0.1s",
        "maxBackoff": "1s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    config: dict[str, Any] = {
        "methodConfig": [{"name": [{"service": name} for name in SERVICES], "retryPolicy": policy}]
    }
    return json.dumps(config)


def channel_options(*, retrying: bool) -> list[tuple[str, Any]]:
    retry: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config()),
    ]
    return [
        *(retry if retrying else []),  # without: gRPC's transparent retries only
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
