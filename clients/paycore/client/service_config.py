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

from google.protobuf.descriptor import ServiceDescriptor
from paycore import v1
from paycore.v1 import common_pb2

RETRY_ATTEMPTS_MAX = 4
"""The first attempt and three retries, 0.1 s, 0.2 s, 0.4 s apart (gRPC adds jitter)."""
KEEPALIVE_TIME_MS = 30_000
"""A ping after 30 s without traffic finds a dead connection (a dropped NAT entry, a peer
that vanished) before a call waits on it; the server permits pings every 10 s."""
KEEPALIVE_TIMEOUT_MS = 10_000


@cache
def _services() -> tuple[ServiceDescriptor, ...]:
    """Every service of the contract (the generated paycore.v1 modules), so a service added
    to the protos is retried like the others without being listed here."""
    import importlib
    import pkgutil

    found = []
    for module in pkgutil.iter_modules(v1.__path__):
        if not module.name.endswith("_pb2") or module.name.endswith("_grpc"):
            continue
        file = importlib.import_module(f"paycore.v1.{module.name}").DESCRIPTOR
        found.extend(file.services_by_name.values())
    return tuple(sorted(found, key=lambda service: service.full_name))


@cache
def mutating_methods() -> frozenset[str]:
    """Full method paths ("/paycore.v1.PaymentService/CreatePaymentIntent") that mutate."""
    return frozenset(
        f"/{service.full_name}/{method.name}"
        for service in _services()
        for method in service.methods
        if method.GetOptions().Extensions[common_pb2.policy].mutating
    )


WITHOUT_GENERATED_KEY = frozenset({"/paycore.v1.LedgerService/PostTransfers"})
"""Mutating methods the client sends as the caller wrote them, never adding a key: with a key,
PostTransfers takes only one merchant's transfers (without, a batch may mix merchants), and its
transfer ids already make a repeat answer EXISTS, so a key adds nothing there."""


@cache
def keyed_methods() -> frozenset[str]:
    """The mutating methods a call without a key is given one (a fresh one per call)."""
    return mutating_methods() - WITHOUT_GENERATED_KEY


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
        "methodConfig": [
            {
                "name": [{"service": service.full_name} for service in _services()],
                "retryPolicy": policy,
            }
        ]
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
