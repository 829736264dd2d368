"""`paycore health`: asks a server's gRPC health service, as a container HEALTHCHECK or a shell
script would; exits 0 when the service is SERVING, 1 otherwise (unreachable included),
printing which: SERVING, NOT_SERVING, UNREACHABLE or SERVICE_UNKNOWN.

It speaks TLS as paycore's own callers do (paycore.runtime.tls.grpc_caller_tls): trusting
PAYCORE_GRPC_TLS_CA_FILE and presenting PAYCORE_GRPC_CLIENT_CERT_FILE to a port that requires
client certificates; plaintext when PAYCORE_GRPC_TLS_CA_FILE is unset."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore import contracts
from paycore.client.tls import Tls
from paycore.config import Settings, load_settings
from paycore.runtime.policy import internal_services
from paycore.runtime.process import split_address
from paycore.runtime.tls import grpc_caller_tls


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser("health", help="exit 0 if a gRPC server reports SERVING")
    health.add_argument(
        "--target",
        default="",
        help="host:port of the server (default: PAYCORE_GRPC_ADDR, or PAYCORE_INTERNAL_GRPC_ADDR"
        " when set for an internal --service; a wildcard host asked on loopback)",
    )
    health.add_argument("--service", default="", help="a service's full name ('' = the server)")
    health.add_argument("--timeout-seconds", type=float, default=3.0)
    health.add_argument(
        "--server-name",
        default="",
        help="over TLS, check the server's certificate against this name instead of the "
        "target's host (a probe asking 127.0.0.1 of a certificate for paycore-serve)",
    )
    health.set_defaults(handler=run_health)


SERVING = "SERVING"


def checked(target: str, service: str, timeout_seconds: float, tls: Tls | None = None) -> str:
    """The line `paycore health` prints: "SERVING", "NOT_SERVING" (what the server reports),
    or why no status was read: nothing answered at `target`, or the server knows no such
    `service` (an operator's typo reads otherwise as a service that is down)."""
    channel = (
        grpc.insecure_channel(target)
        if tls is None
        else grpc.secure_channel(target, tls.credentials(), options=tls.channel_options())
    )
    with channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs are untyped
            answer = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_seconds
            )
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.NOT_FOUND:
                return (
                    f"SERVICE_UNKNOWN: the server at {target} has no service {service} (NOT_FOUND)"
                )
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return f"UNREACHABLE: {target} ({code.name}: {error.details()})"
            return f"NOT_SERVING: {code.name}: {error.details()}"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


def run_health(arguments: argparse.Namespace) -> None:
    settings = load_settings()
    tls = grpc_caller_tls(settings)
    if tls is not None and arguments.server_name:
        tls = dataclasses.replace(tls, server_name=arguments.server_name)
    target = arguments.target or local_target(_serving_address(settings, arguments.service))
    said = checked(target, arguments.service, arguments.timeout_seconds, tls)
    print(said)
    raise SystemExit(0 if said == SERVING else 1)


def _serving_address(settings: Settings, service: str) -> str:
    """The address that serves `service`: with PAYCORE_INTERNAL_GRPC_ADDR set, the internal
    services (ledger, executor, reconciliation) are served there only."""
    if settings.internal_grpc_addr and service in internal_services(contracts.method_policies()):
        return settings.internal_grpc_addr
    return settings.grpc_addr


def local_target(listen_address: str) -> str:
    """Where a process on the same host reaches a server listening on `listen_address`: a
    wildcard host (0.0.0.0, ::, none) is asked on loopback."""
    host, port = split_address(listen_address)
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
