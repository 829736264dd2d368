"""Bad input is a 4xx that says what is wrong; nothing a client sends makes the edge answer 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import ClientSession
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from paycore.edge import BODY_SIZE_MAX, EdgeServer, start_edge

from tests.edge.helpers import call, new_merchant
from tests.helpers import free_port

SELLER = {"email": "a@seller.test", "country": "US", "default_currency": "usd"}


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (b'{"email": ', "body_malformed", None),
        (b"\xff\xfe", "body_malformed", None),
        (b"[1, 2]", "parameter_invalid", "body"),
        (b'"just a string"', "parameter_invalid", "body"),
        (b'{"email": NaN}', "body_malformed", None),
        (b'{"emial": "a@b.test"}', "parameter_unknown", "emial"),
        (b'{"email": 5}', "parameter_invalid", "email"),
        (b'{"metadata": ["a"]}', "parameter_invalid", "metadata"),
        (b'{"metadata": {"a": 1}}', "parameter_invalid", "metadata[a]"),
        (b"[" * 100_000 + b"]" * 100_000, "body_malformed", None),
        (b'{"metadata": {"a": {"b": {}}}}', "parameter_invalid", "metadata[a]"),
        # JSON may escape half a UTF-16 pair, which is no Unicode text: named like any bad value.
        (b'{"email": "\\ud800@b.test"}', "parameter_invalid", "email"),
        (b'{"metadata": {"a": "\\udfff"}}', "parameter_invalid", "metadata[a]"),
        (b'{"metadata": {"\\ud800": "a"}}', "parameter_invalid", "metadata"),
        # A key given twice means two things (the form refuses it too): not the last one.
        (b'{"email": "a@b.test", "email": "c@d.test"}', "body_malformed", None),
        (b'{"metadata": {"a": "1", "a": "2"}}', "body_malformed", None),
    ],
)
async def test_malformed_json_names_what_is_wrong(
    http: ClientSession, body: bytes, code: str, param: str | None
) -> None:
    answer = await call(
        http,
        "POST",
        "/v1/accounts",
        key="sk_test_whatever",
        headers={"Content-Type": "application/json"},
        data=body,
    )
    assert answer.status == 400, answer.body
    assert answer.error["type"] == "invalid_request_error"
    assert answer.error["code"] == code
    assert answer.error.get("param") == param
    assert answer.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize(
    ("method", "path", "query_or_form", "status", "code"),
    [
        ("GET", "/v1/accounts", "limit=ten", 400, "parameter_invalid"),
        ("GET", "/v1/accounts", "limit=99999999999", 400, "parameter_invalid"),
        ("GET", "/v1/accounts", "limitt=1", 400, "parameter_unknown"),
        ("GET", "/v1/accounts", "limit[a]=1", 400, "parameter_invalid"),
        ("GET", "/v1/accounts", "limit=1&limit=2", 400, "parameter_invalid"),
        ("GET", "/v1/accounts", "%ff=1", 400, "body_malformed"),
        ("GET", "/v1/merchants/acct_1", "id=acct_2", 400, "parameter_invalid"),
        ("POST", "/v1/accounts", "metadata=x", 400, "parameter_invalid"),
        ("POST", "/v1/accounts", "metadata[]=x", 400, "parameter_invalid"),
        ("POST", "/v1/accounts", "email[a]=x", 400, "parameter_invalid"),
        ("POST", "/v1/accounts", "nope=1", 400, "parameter_unknown"),
        ("POST", "/v1/accounts", "[=1", 400, "parameter_invalid"),
        ("POST", "/v1/merchants", "livemode=maybe", 400, "parameter_invalid"),
    ],
)
async def test_malformed_query_strings_and_forms_name_what_is_wrong(
    http: ClientSession, method: str, path: str, query_or_form: str, status: int, code: str
) -> None:
    if method == "GET":
        answer = await call(http, method, f"{path}?{query_or_form}", key="sk_test_whatever")
    else:
        answer = await call(http, method, path, key="sk_test_whatever", form=query_or_form)
    assert answer.status == status, answer.body
    assert answer.error["code"] == code, answer.body


@pytest.mark.parametrize(
    ("path", "form", "param"),
    [
        (
            "/v1/accounts",
            "settlement_currencies[0]=usd&settlement_currencies[2]=zzz",
            "settlement_currencies[2]",
        ),
        ("/v1/accounts", "settlement_currencies[1]=usd", "settlement_currencies[1]"),
        (
            "/v1/payments",
            "payment_orders[0][amount]=100&payment_orders[2][amount]=5",
            "payment_orders[2]",
        ),
    ],
)
async def test_a_list_index_after_a_gap_is_refused_naming_the_index_sent(
    http: ClientSession, path: str, form: str, param: str
) -> None:
    """`items[0]=a&items[2]=b` is no list of two: were it one, an error in its second element
    would name `items[1]`, which the client never sent. Refused naming the index sent."""
    answer = await call(http, "POST", path, key="sk_test_whatever", form=form)
    assert answer.status == 400, answer.body
    assert (answer.error["code"], answer.error["param"]) == ("parameter_invalid", param)
    assert "without a gap" in answer.error["message"], answer.body


async def test_a_list_limit_is_1_to_100_and_0_is_not_the_default(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe refuses a limit outside 1..100 naming it; gRPC reads 0 as unset (proto3), the
    query string does not."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    for limit in ("0", "-1", "101", "2147483648", "99999999999", "9" * 40):
        for path in ("/v1/customers", "/v1/events", "/v1/exchange_rates"):
            answer = await call(http, "GET", f"{path}?limit={limit}", key=key)
            assert (answer.status, answer.error["param"]) == (400, "limit"), (path, limit)
            assert answer.error["message"] == "limit: must be between 1 and 100", answer.body
    for limit in ("1", "100"):
        answer = await call(http, "GET", f"/v1/customers?limit={limit}", key=key)
        assert answer.status == 200, answer.body
    unset = await call(http, "GET", "/v1/customers", key=key)
    assert unset.status == 200, unset.body


async def test_an_unknown_enum_value_is_told_the_values_a_client_can_send(
    http: ClientSession,
) -> None:
    """The proto's unset value (`..._UNSPECIFIED`, rendered null) is no choice to offer."""
    answer = await call(
        http, "POST", "/v1/payment_intents", key="sk_test_whatever", form="capture_method=soon"
    )
    assert (answer.status, answer.error["param"]) == (400, "capture_method"), answer.body
    assert answer.error["message"] == (
        "capture_method: must be one of automatic, manual, automatic_async"
    )


async def test_routes_methods_types_and_sizes(http: ClientSession) -> None:
    unknown = await call(http, "GET", "/v1/nothing_here")
    assert (unknown.status, unknown.error["code"]) == (404, "route_unknown")
    assert "GET: /v1/nothing_here" in unknown.error["message"]
    trailing = await call(http, "GET", "/v1/merchants/")
    assert trailing.status == 404
    wrong_method = await call(http, "DELETE", "/v1/accounts")
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "GET, HEAD, POST"
    text = await call(
        http, "POST", "/v1/accounts", data=b"email=x", headers={"Content-Type": "text/plain"}
    )
    assert (text.status, text.error["code"]) == (415, "content_type_unsupported")
    latin = await call(
        http,
        "POST",
        "/v1/accounts",
        data=b"{}",
        headers={"Content-Type": "application/json; charset=latin-1"},
    )
    assert latin.status == 415
    huge = await call(http, "POST", "/v1/accounts", json_body={"email": "x" * BODY_SIZE_MAX})
    assert (huge.status, huge.error["code"]) == (413, "body_too_large")
    body_on_get = await call(http, "GET", "/v1/accounts", json_body={"limit": 1})
    assert (body_on_get.status, body_on_get.error["code"]) == (400, "body_unexpected")
    query_on_body_route = await call(http, "POST", "/v1/accounts?email=x", json_body=SELLER)
    assert query_on_body_route.status == 400
    bad_path = await call(http, "GET", "/v1/merchants/%ff")
    assert bad_path.status == 404
    header = await call(http, "GET", "/v1/accounts", headers={"Idempotency-Key": "caf\u00e9"})
    assert (header.status, header.error["param"]) == (400, "idempotency-key")  # the server's
    assert header.error["code"] == "idempotency_key_invalid"


async def test_a_body_over_the_method_s_own_limit_is_413_not_a_rate_limit(
    http: ClientSession,
) -> None:
    """Card tokenization takes at most 16 KiB (the server's limit for publishable-key methods,
    under the edge's 1 MiB): a larger body is refused as too large, 413 as the edge's own
    limit, never 429, which tells a client (and the Stripe SDKs) to retry the same body."""
    form = "type=card&card[number]=4242424242424242&billing_details[name]=" + "x" * 20_000
    answer = await call(http, "POST", "/v1/payment_methods", key="pk_test_whatever", form=form)
    assert answer.status == 413, answer.body
    assert answer.error["type"] == "invalid_request_error", answer.body
    assert answer.error["code"] == "request_too_large", answer.body
    assert "Retry-After" not in answer.headers


async def test_the_path_and_the_body_must_agree(
    http: ClientSession, settings_admin_token: str
) -> None:
    answer = await call(
        http,
        "POST",
        "/v1/api_keys/key_1/revoke",
        key=settings_admin_token,
        json_body={"id": "key_2"},
    )
    assert answer.status == 400
    assert answer.error["param"] == "id"


JUNK: list[bytes] = [
    b"",
    b"{}",
    b"null",
    b"true",
    b"1e999",
    b'{"id": {"id": {}}}',
    b'{"limit": 1.5}',
    b'{"limit": "1e3"}',
    b'{"limit": true}',
    b'{"metadata": null}',
    b'{"created": "-"}',
    b'{"amount": -9223372036854775809}',
    b'{"amount": "9223372036854775808"}',
    b'{"scopes": "a"}',
    b'{"scopes": [null]}',
    b'{"type": 3}',
    b'{"payment_orders": [{"amount": {}}]}',
    b'{"object": {"@type": "nope"}}',
    json.dumps({"name": "\udcff"}, ensure_ascii=True).encode(),
    b'{"\\u0000": 1}',
]


async def test_no_input_makes_the_edge_answer_500(
    http: ClientSession, edge_server: EdgeServer
) -> None:
    """Every route, fed junk JSON, form and query: 4xx, or 501 where the service is not built."""
    routes = edge_server.edge.router.routes
    for route in routes:
        path = "/" + "/".join(s.literal if s.literal is not None else "x_1" for s in route.segments)
        for body in JUNK:
            answer = await call(
                http,
                route.http_method,
                path,
                data=body,
                headers={"Content-Type": "application/json"},
            )
            assert answer.status < 500 or answer.status == 501, (route.template, body, answer.body)
        for junk in ("a[b][c]=1", "x=%zz", "[]=", "a=1&a[]=2", "id=1", "scopes[9999999]=a"):
            answer = await call(http, route.http_method, f"{path}?{junk}", key="sk_test_x")
            assert answer.status < 500 or answer.status == 501, (route.template, junk, answer.body)
            if route.body:
                answer = await call(http, route.http_method, path, form=junk)
                assert answer.status < 500 or answer.status == 501, (
                    route.template,
                    junk,
                    answer.body,
                )


@pytest_asyncio.fixture
async def bare_edge() -> AsyncIterator[str]:
    """An edge before a gRPC server that implements nothing but its health check (SERVING:
    the edge's /healthz asks it)."""
    server = aio.server()
    checks = health.aio.HealthServicer()
    await checks.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    edge = await start_edge(f"127.0.0.1:{port}", "127.0.0.1:0", operator_routes=True)
    yield f"http://127.0.0.1:{edge.port}"
    await edge.close()
    await server.stop(0)


async def test_an_unimplemented_method_is_501(bare_edge: str) -> None:
    async with ClientSession(base_url=bare_edge) as http:
        answer = await call(http, "GET", "/v1/balance")
        assert answer.status == 501
        assert answer.error["code"] == "unimplemented"
        assert answer.error["message"] == "GET /v1/balance is not implemented yet"
        assert answer.headers["Stripe-Should-Retry"] == "false"  # the SDKs would retry a 5xx
        health = await http.get("/healthz")
        assert health.status == 200


async def test_no_grpc_server_is_503_and_an_unhealthy_edge() -> None:
    edge = await start_edge(f"127.0.0.1:{free_port()}", "127.0.0.1:0", operator_routes=True)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
            answer = await call(http, "GET", "/v1/accounts", key="sk_test_x")
            assert (answer.status, answer.error["type"]) == (503, "api_error")
            health = await http.get("/healthz")
            assert health.status == 503
    finally:
        await edge.close()


async def test_healthz_is_ok_with_a_ready_channel(http: ClientSession) -> None:
    async with http.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_a_path_with_a_newline_is_answered_by_the_edge_in_json(http: ClientSession) -> None:
    """aiohttp matches routes on the decoded path; a %0A in it must still reach the edge."""
    for path in ("/v1/merchants/a%0Ab", "/v1/no%0Asuch"):
        answer = await call(http, "GET", path, key="sk_test_whatever")
        assert answer.status in (400, 401, 404), (path, answer.body)
        assert answer.headers["Request-Id"].startswith("req_")


async def test_a_long_value_quoted_in_an_error_is_400_naming_it(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    answer = await call(http, "GET", "/v1/events?type=" + "x" * 7_000, key=merchant["secret_key"])
    # The message quotes the value: unbounded, it overflowed the gRPC answer's metadata and the
    # edge answered 429 "Stream removed (received metadata size exceeds soft limit ...)".
    assert answer.status == 400, answer.body
    assert answer.error["code"] == "parameter_invalid"
    assert answer.error["param"] == "type"
    assert "metadata" not in answer.error["message"]
