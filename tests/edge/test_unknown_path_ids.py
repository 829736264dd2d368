"""An id in the path that names nothing is Stripe's 404 `resource_missing` ("No such
payment_intent: 'pi_123'"), whatever its form: Stripe does not tell a malformed id from an
unknown one, and merchants' code looks for the 404 (`err.statusCode === 404`,
`err.code === "resource_missing"`) when an id from their records or a URL names nothing. An
id in the body or the query of the wrong form is still 400 `id_malformed` naming it."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant
from tests.payment.shop import PayIn


@pytest.mark.parametrize(
    ("path", "kind", "value"),
    [
        ("/v1/payment_intents/pi_123", "payment_intent", "pi_123"),
        ("/v1/customers/cus_doesnotexist000000000000", "customer", "cus_doesnotexist000000000000"),
        ("/v1/customers/pi_1/payment_methods", "customer", "pi_1"),
        ("/v1/charges/pi_123", "charge", "pi_123"),
    ],
)
async def test_a_malformed_id_in_the_path_is_not_found(
    payin_http: ClientSession, payin: PayIn, path: str, kind: str, value: str
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    missing = await call(payin_http, "GET", path, key=key)
    assert missing.status == 404, missing.body
    assert missing.error["type"] == "invalid_request_error"
    assert missing.error["code"] == "resource_missing"
    assert missing.error["message"] == f"No such {kind}: '{value}'"
    assert missing.error["param"] in {"id", "customer"}


async def test_a_malformed_id_in_the_body_is_still_id_malformed(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    form = "amount=500&currency=usd&customer=cus_1"
    refused = await call(payin_http, "POST", "/v1/payment_intents", key=key, form=form)
    assert (refused.status, refused.error["code"], refused.error["param"]) == (
        400,
        "id_malformed",
        "customer",
    )
