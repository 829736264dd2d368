"""ReconciliationService's REST routes on an edge that serves the operator routes, in front of a
server whose internal services (ledger, executor, reconciliation) answer only on their own port
(PAYCORE_INTERNAL_GRPC_ADDR, as `paycore dev` with that setting runs it). The edge answered
every /v1/reconciliation route 501 "not implemented yet": it called the public port, where
those services are not served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from aiohttp import ClientSession
from paycore.app import Platform, build_platform, start_server
from paycore.config import Settings
from paycore.edge import start_edge
from prometheus_client import CollectorRegistry

from tests.reconciliation.day import unique_past_day


@dataclass(frozen=True)
class OperatorEdge:
    http: ClientSession
    platform: Platform


@pytest_asyncio.fixture
async def operator_edge(migrated: Settings) -> AsyncIterator[OperatorEdge]:
    """An operator edge in front of a server with an internal port of its own."""
    settings = migrated.with_overrides(internal_grpc_addr="127.0.0.1:0")
    platform = build_platform(settings, CollectorRegistry())
    server = await start_server(platform, "127.0.0.1:0")
    assert server.internal is not None
    edge = await start_edge(
        f"127.0.0.1:{server.port}",
        "127.0.0.1:0",
        operator_routes=True,
        internal_target=f"127.0.0.1:{server.internal.port}",
    )
    headers = {"Authorization": f"Bearer {settings.admin_token}"}
    try:
        async with ClientSession(f"http://127.0.0.1:{edge.port}", headers=headers) as http:
            yield OperatorEdge(http, platform)
    finally:
        await edge.close()
        await server.stop(1)
        await platform.close()


async def test_reconciliation_routes_reach_the_internal_port(operator_edge: OperatorEdge) -> None:
    operator_http = operator_edge.http
    listed = await operator_http.get("/v1/reconciliation/discrepancies", params={"limit": "1"})
    assert listed.status == 200, await listed.text()
    assert (await listed.json())["object"] == "list"
    day = unique_past_day().isoformat()
    run = await operator_http.post(
        "/v1/reconciliation/runs",
        data={"date": day, "source": "bank_payouts"},
        headers={"Idempotency-Key": f"rest-run-{day}"},
    )
    assert run.status == 200, await run.text()
    recorded = await run.json()
    assert (recorded["date"], recorded["source"]) == (day, "bank_payouts")
    read = await operator_http.get(f"/v1/reconciliation/runs/{recorded['id']}")
    assert read.status == 200, await read.text()
    assert (await read.json())["id"] == recorded["id"]
    # Executed here (this server has no simulator: the report is unavailable, the run fails),
    # so that no other test's worker finds it due.
    runs = operator_edge.platform.reconciliation.runs
    await runs.execute(await operator_edge.platform.reconciliation.get_run(recorded["id"]))
    finished = await (await operator_http.get(f"/v1/reconciliation/runs/{recorded['id']}")).json()
    assert finished["status"] == "failed", finished
    # An admin method of a public service (AccountService) still reaches the public port.
    created = await operator_http.post(
        "/v1/merchants",
        data={
            "name": "Operator edge shop",
            "email": "ops@example.com",
            "country": "US",
            "default_currency": "usd",
        },
    )
    assert created.status == 200, await created.text()
    merchant = await operator_http.get(f"/v1/merchants/{(await created.json())['id']}")
    assert merchant.status == 200, await merchant.text()
