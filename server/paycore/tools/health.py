"""`paycore health`: asks a server's gRPC health service, as a container HEALTHCHECK or a shell
script would; exits 0 when the service is SERVING, 1 otherwise (unreachable included)."""

from __future__ import annotations

import argparse
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser("health", help="exit 0 if a gRPC server reports SERVING")
    health.add_argument("--target", default="127.0.0.1:50051", help="host:port of the server")
    health.add_argument("--service", default="", help="a service's full name ('' = the server)")
    health.add_argument("--timeout-seconds", type=float, default=3.0)
    health.set_defaults(handler=run_health)


def serving(target: str, service: str, timeout_seconds: float) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs are untyped
            answer = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_seconds
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def run_health(arguments: argparse.Namespace) -> None:
    ok = serving(arguments.target, arguments.service, arguments.timeout_seconds)
    print("SERVING" if ok else "NOT_SERVING")
    raise SystemExit(0 if ok else 1)
