"""What a black-box sweep of the REST edge's promises found (deploy/edge.md): every answer
carries `Request-Id`, the edge's own GET paths answer another method 405 with `Allow` as the
API's do, an invalid `Idempotency-Key` is told its real limit whatever made it invalid, and a
seller's external account names the field inside the hash in its message too."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant, seller_account
from tests.payout.support import ROUTING


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/static/nothing.css"])
async def test_every_answer_has_a_request_id(http: ClientSession, path: str) -> None:
    for method in ("GET", "HEAD"):
        async with http.request(method, path) as answer:
            assert answer.headers.get("Request-Id", "").startswith("req_"), (method, path)


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json"])
async def test_the_edges_own_get_paths_answer_another_method_405(
    http: ClientSession, path: str
) -> None:
    for method in ("POST", "PUT", "DELETE"):
        answer = await call(http, method, path)
        assert answer.status == 405, (method, path, answer.body)
        assert answer.headers["Allow"] == "GET, HEAD"
        assert answer.error["code"] == "method_not_allowed"
        assert answer.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize("idempotency_key", ["é-1", "x" * 256, "a b", ""])
async def test_an_invalid_idempotency_key_is_told_the_limit_it_broke(
    http: ClientSession, settings_admin_token: str, idempotency_key: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    before = await call(http, "GET", "/v1/customers", key=key)
    headers = {"Idempotency-Key": idempotency_key.encode().decode("latin-1")}

    answer = await call(http, "POST", "/v1/customers", key=key, form="name=A", headers=headers)

    assert answer.status == 400, answer.body
    assert answer.error["type"] == "idempotency_error"
    assert answer.error["code"] == "idempotency_key_invalid"
    assert answer.error["param"] == "idempotency-key"
    assert "1 to 255 printable ASCII characters" in answer.error["message"]
    assert (await call(http, "GET", "/v1/customers", key=key)).body == before.body


async def test_an_external_accounts_message_names_the_field_as_its_param(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    seller = await seller_account(http, key)
    form = (
        "external_account[object]=bank_account&external_account[country]=US"
        f"&external_account[currency]=usd&external_account[routing_number]={ROUTING}"
        "&external_account[account_number]=000123456789"
    )

    missing = await call(
        http, "POST", f"/v1/accounts/{seller}/external_accounts", key=key, form=form
    )
    too_short = await call(
        http,
        "POST",
        f"/v1/accounts/{seller}/external_accounts",
        key=key,
        form=form.replace(ROUTING, "12") + "&external_account[account_holder_name]=J",
    )

    assert missing.error["param"] == "external_account[account_holder_name]"
    assert missing.error["message"] == "external_account[account_holder_name] is required"
    assert too_short.error["param"] == "external_account[routing_number]"
    assert too_short.error["message"].startswith("external_account[routing_number]: ")
    listed = await call(http, "GET", f"/v1/accounts/{seller}/external_accounts", key=key)
    assert listed.body["data"] == []


@pytest.mark.parametrize("digits", [20, 23, 400])
async def test_an_integer_too_long_is_told_its_range_not_that_it_is_no_integer(
    http: ClientSession, settings_admin_token: str, digits: int
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    form = f"amount={'9' * digits}&currency=usd"

    answer = await call(http, "POST", "/v1/payment_intents", key=key, form=form)

    assert (answer.status, answer.error["param"]) == (400, "amount"), answer.body
    assert answer.error["message"] == (
        "amount: must be between -9223372036854775808 and 9223372036854775807"
    )
    listed = await call(http, "GET", "/v1/payment_intents", key=key)
    assert listed.body["data"] == []
