"""/openapi.json: a valid OpenAPI 3.1 document of every route, from the descriptors."""

from __future__ import annotations

from aiohttp import ClientSession
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from paycore.edge import EdgeServer

from tests.edge.helpers import call, charge, new_merchant, seller_account
from tests.payment.shop import PayIn, good_card


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
    # The unset value is null in answers, never "unspecified" (which no Stripe SDK knows).
    assert schemas["ApiKey"]["properties"]["type"]["enum"] == [
        "secret",
        "publishable",
        "restricted",
        None,
    ]
    listed = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, property in schema.get("properties", {}).items()
        if "unspecified" in property.get("enum", ())
    ]
    assert listed == []
    assert "Error" in schemas
    listing = document["paths"]["/v1/accounts"]["get"]["parameters"]
    assert {"limit", "starting_after"} <= {parameter["name"] for parameter in listing}


async def test_answers_with_fields_rendered_null_conform_to_the_document(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """Stripe renders what an object has not as null (a charge's failure_code, a coupon's
    amount_off, an endpoint's api_version...) and an inline list of all its items with their
    total_count (an application fee's refunds, a transfer's reversals): the document says so,
    so that such an answer is no schema violation (a charge listed after a successful payment
    and every application fee were one)."""
    http = payin_http
    async with http.get("/openapi.json") as response:
        document = await response.json()
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    intent = await charge(http, key, 2000, good_card(), payin.run_worker_once)
    coupon = await call(http, "POST", "/v1/coupons", key=key, form="percent_off=10&duration=once")
    code = f"coupon={coupon.body['id']}&code=TENOFF"
    promotion = await call(http, "POST", "/v1/promotion_codes", key=key, form=code)
    hook = {"url": "https://93.184.215.14/hooks", "enabled_events": ["charge.succeeded"]}
    endpoint = await call(http, "POST", "/v1/webhook_endpoints", key=key, json_body=hook)
    seller = await seller_account(http, key)
    destination = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=3000&currency=usd&payment_method=pm_card_visa&confirm=true"
        f"&transfer_data[destination]={seller}&application_fee_amount=300",
    )
    assert destination.status == 200, destination.body
    fees = await call(
        http, "GET", f"/v1/application_fees?payment_intent={destination.body['id']}", key=key
    )
    transfer = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=500&currency=usd&destination={seller}&source_transaction={intent}",
    )
    assert transfer.status == 200, transfer.body
    for path, route in (
        (f"/v1/charges?payment_intent={intent}", "/v1/charges"),
        (f"/v1/coupons/{coupon.body['id']}", "/v1/coupons/{id}"),
        (f"/v1/promotion_codes/{promotion.body['id']}", "/v1/promotion_codes/{id}"),
        (f"/v1/webhook_endpoints/{endpoint.body['id']}", "/v1/webhook_endpoints/{id}"),
        (f"/v1/application_fees/{fees.body['data'][0]['id']}", "/v1/application_fees/{id}"),
        (f"/v1/transfers/{transfer.body['id']}", "/v1/transfers/{id}"),
    ):
        answer = await call(http, "GET", path, key=key)
        assert answer.status == 200, (path, answer.body)
        schema = document["paths"][route]["get"]["responses"]["200"]["content"]
        validator = OAS31Validator(
            {**schema["application/json"]["schema"], "components": document["components"]}
        )
        errors = [
            f"{list(error.absolute_path)}: {error.message}"
            for error in validator.iter_errors(answer.body)
        ]
        assert errors == [], (path, errors)
