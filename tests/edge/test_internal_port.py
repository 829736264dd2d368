"""The REST edge's operator routes when the gRPC server serves the internal services on a port
of their own (PAYCORE_INTERNAL_GRPC_ADDR): the ledger's and executor's routes reach that port,
as `paycore dev` and `paycore edge` set it up, instead of answering 501 "not implemented"."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.config import Settings
from paycore.edge import start_edge

from tests.edge.helpers import call
from tests.helpers import MerchantFixture


async def test_operator_routes_of_internal_services_reach_the_internal_port(
    two_ports: tuple[str, str], settings: Settings, merchant: MerchantFixture
) -> None:
    public, internal = two_ports
    edge = await start_edge(public, "127.0.0.1:0", operator_routes=True, internal_target=internal)
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            integrity = await call(http, "GET", "/v1/ledger/integrity", headers=admin)
            executions = await call(http, "GET", "/v1/executor/dead_letters", headers=admin)
            merchant_read = await call(
                http,
                "GET",
                f"/v1/merchants/{merchant.merchant.id}",
                key=merchant.merchant.secret_key,
            )
            refused = await call(
                http, "GET", "/v1/ledger/integrity", key=merchant.merchant.secret_key
            )
    finally:
        await edge.close()

    assert integrity.status == 200, integrity.body
    assert integrity.body["ok"] is True
    assert executions.status == 200, executions.body
    assert merchant_read.status == 200, merchant_read.body
    assert refused.status == 403, refused.body
