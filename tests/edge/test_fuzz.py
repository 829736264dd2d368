"""Schema-driven fuzzing: schemathesis generates requests for every operation of the served
services from the edge's own /openapi.json and sends them over real HTTP, as a merchant (with
its secret key) or, for the ledger and CreateMerchant, with the admin token acting for that
merchant. No answer may be a 5xx, and every answer must match the schema the document gives
for it (the operation's response, or the Error object). Bounded: a few examples per operation,
no shrinking, so the whole run takes seconds."""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import schemathesis
from aiohttp import ClientSession
from hypothesis import HealthCheck, Phase, given, settings
from paycore.app import build_platform, start_server
from paycore.config import Settings
from paycore.edge import EdgeServer, start_edge
from paycore.runtime.server import GrpcServer
from prometheus_client import CollectorRegistry
from schemathesis import checks
from schemathesis.core.result import Err
from schemathesis.generation.case import Case

from tests.edge.helpers import new_merchant
from tests.payment.shop import NO_LIMITS

EXAMPLES_PER_OPERATION = int(os.environ.get("PAYCORE_FUZZ_EXAMPLES", "25"))
MERCHANT_KEY_EXAMPLES_PER_OPERATION = int(os.environ.get("PAYCORE_FUZZ_EXAMPLES", "10"))
"""Per operation; set PAYCORE_FUZZ_EXAMPLES higher (and PAYCORE_FUZZ_SEED) to hunt longer."""
STATUSES: dict[tuple[str, int], int] = {}
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
    checks.status_code_conformance,
]
_ADMIN_OPERATIONS = {("post", "/v1/merchants")}
# Called with the admin token acting for the merchant: the ledger is internal, and a key's
# rate limits (100/s per class) would answer 429 to many generated catalogue calls.
_OPERATOR_PATHS = (
    "/v1/ledger/",
    "/v1/products",
    "/v1/prices",
    "/v1/test_helpers/",
    "/v1/subscriptions",
    "/v1/invoices",
    "/v1/billing_settings",
)


def _served_document(document: dict[str, Any], serving: list[str]) -> dict[str, Any]:
    """The document with only the operations of the services the gRPC server serves."""
    served_tags = {name.rsplit(".", 1)[-1] for name in serving}
    kept = copy.deepcopy(document)
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in kept["paths"].items():
        chosen = {
            method: operation
            for method, operation in operations.items()
            if set(operation.get("tags", [])) & served_tags
        }
        if chosen:
            paths[path] = chosen
    kept["paths"] = paths
    return kept


def _headers(method: str, path: str, merchant: dict[str, Any], admin_token: str) -> dict[str, str]:
    if (method, path) in _ADMIN_OPERATIONS:
        return {"Authorization": f"Bearer {admin_token}"}
    if path.startswith(_OPERATOR_PATHS):
        return {"Authorization": f"Bearer {admin_token}", "Paycore-Merchant": merchant["id"]}
    return {"Authorization": f"Bearer {merchant['secret_key']}"}


def _fuzz(
    document: dict[str, Any],
    base_url: str,
    merchant: dict[str, Any],
    admin_token: str,
    merchant_key_only: bool = False,
    examples: int = EXAMPLES_PER_OPERATION,
) -> tuple[int, list[str]]:
    """Runs every operation; returns how many operations ran and the failures found. With
    `merchant_key_only`, every operation is called with the merchant's secret key, the
    operator ones included (which must refuse it with a 4xx, never a 5xx)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the document: {result.err()}")
            continue
        operation = result.ok()
        what = f"{operation.method.upper()} {operation.path}"
        headers = _headers(operation.method.lower(), operation.path, merchant, admin_token)
        if merchant_key_only:
            headers = {"Authorization": f"Bearer {merchant['secret_key']}"}
        count += 1
        try:
            _fuzz_operation(operation, what, base_url, headers, examples)
        except Exception as error:
            failures.append(f"{what}: {error}")
    return count, failures


def _fuzz_operation(
    operation: Any, what: str, base_url: str, headers: dict[str, str], examples: int
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize="PAYCORE_FUZZ_SEED" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Case[Any]) -> None:
        # The credentials are ours, not generated: the fuzz is about what a caller sends.
        for name in ("Authorization", "Paycore-Merchant"):
            case.headers.pop(name, None)
        answer = case.call_and_validate(
            base_url=base_url, headers=headers, checks=CHECKS, timeout=10
        )
        STATUSES[what, answer.status_code] = STATUSES.get((what, answer.status_code), 0) + 1

    run()


async def test_fuzzing_the_served_operations_finds_no_5xx_and_no_schema_violation(
    http: ClientSession,
    edge_server: EdgeServer,
    grpc_server: GrpcServer,
    settings_admin_token: str,
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    async with http.get("/openapi.json") as response:
        document = _served_document(await response.json(), grpc_server.serving)
    base_url = f"http://127.0.0.1:{edge_server.port}"
    # schemathesis calls with requests (blocking): off the loop that serves the edge and gRPC.
    count, failures = await asyncio.to_thread(
        _fuzz, document, base_url, merchant, settings_admin_token
    )
    assert count == sum(len(operations) for operations in document["paths"].values()) >= 18
    if "PAYCORE_FUZZ_SEED" in os.environ:  # a longer hunt: show what was answered
        print(
            *(f"{what} {status}: {n}" for (what, status), n in sorted(STATUSES.items())), sep="\n"
        )
    assert not failures, "\n\n".join(failures)


@pytest_asyncio.fixture(scope="module")
async def unlimited_edge(migrated: Settings) -> AsyncIterator[tuple[str, list[str]]]:
    """An edge (operator routes on) over a server without rate limits: with one merchant key
    for every operation, the subscriptions limit would answer most calls 429."""
    unlimited = migrated.with_overrides(rate_limits_per_second=NO_LIMITS)
    platform = build_platform(unlimited, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    edge = await start_edge(f"127.0.0.1:{server.port}", "127.0.0.1:0", operator_routes=True)
    try:
        yield f"http://127.0.0.1:{edge.port}", server.serving
    finally:
        await edge.close()
        await server.stop(1)
        await platform.close()


async def test_fuzzing_every_route_with_a_merchants_key_finds_no_5xx(
    unlimited_edge: tuple[str, list[str]], settings_admin_token: str
) -> None:
    """Issue 23: every route, operator ones included, fuzzed with a merchant's secret key."""
    base_url, serving = unlimited_edge
    async with ClientSession(base_url=base_url) as http:
        merchant = await new_merchant(http, settings_admin_token)
        async with http.get("/openapi.json") as response:
            document = _served_document(await response.json(), serving)
    count, failures = await asyncio.to_thread(
        _fuzz,
        document,
        base_url,
        merchant,
        settings_admin_token,
        True,
        MERCHANT_KEY_EXAMPLES_PER_OPERATION,
    )
    assert count >= 18
    assert not failures, "\n\n".join(failures)
