"""/openapi.json: a valid OpenAPI 3.1 document of every route, from the descriptors."""

from __future__ import annotations

from aiohttp import ClientSession
from openapi_spec_validator import validate
from paycore.edge import EdgeServer


async def test_openapi_json_is_valid_and_complete(
    http: ClientSession, edge_server: EdgeServer
) -> None:
    async with http.get("/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    routes = edge_server.edge.router.routes
    operations = sum(len(methods) for methods in document["paths"].values())
    assert operations == len(routes)
    create = document["paths"]["/v1/accounts"]["post"]
    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert any(parameter["name"] == "Idempotency-Key" for parameter in create["parameters"])
    schemas = document["components"]["schemas"]
    assert schemas["Merchant"]["properties"]["created"]["type"] == "integer"  # int64, a number
    assert schemas["Merchant"]["properties"]["object"]["const"] == "account"
    assert schemas["ListPaymentIntentsResponse"]["properties"]["object"]["const"] == "list"
    assert "restricted" in schemas["ApiKey"]["properties"]["type"]["enum"]
    assert "Error" in schemas
    listing = document["paths"]["/v1/accounts"]["get"]["parameters"]
    assert {"limit", "starting_after"} <= {parameter["name"] for parameter in listing}
