"""`paycore health`: asks a server's gRPC health service, as a container HEALTHCHECK or a shell
script would; exits 0 when the service is SERVING, 1 otherwise (unreachable included).

It speaks TLS as paycore's own callers do (paycore.runtime.tls.grpc_caller_tls): trusting
PAYCORE_GRPC_TLS_CA_FILE and presenting PAYCORE_GRPC_CLIENT_CERT_FILE to a port that requires
client certificates; plaintext when PAYCORE_GRPC_TLS_CA_FILE is unset."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paycore.client.tls import Tls
from paycore.config import load_settings
from paycore.runtime.process import split_address
from paycore.runtime.tls import grpc_caller_tls


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser("health", help="exit 0 if a gRPC server reports SERVING")
    health.add_argument(
        "--target",
        default="",
        help="host:port of the server (default: PAYCORE_GRPC_ADDR, a wildcard host asked on"
        " loopback)",
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


def serving(target: str, service: str, timeout_seconds: float, tls: Tls | None = None) -> bool:
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
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def run_health(arguments: argparse.Namespace) -> None:
    settings = load_settings()
    tls = grpc_caller_tls(settings)
    if tls is not None and arguments.server_name:
        tls = dataclasses.replace(tls, server_name=arguments.server_name)
    target = arguments.target or local_target(settings.grpc_addr)
    ok = serving(target, arguments.service, arguments.timeout_seconds, tls)
    print("SERVING" if ok else "NOT_SERVING")
    raise SystemExit(0 if ok else 1)


def local_target(listen_address: str) -> str:
    """Where a process on the same host reaches a server listening on `listen_address`: a
    wildcard host (0.0.0.0, ::, none) is asked on loopback."""
    host, port = split_address(listen_address)
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
