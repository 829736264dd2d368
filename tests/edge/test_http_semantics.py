"""What HTTP itself asks of the edge: HEAD wherever GET is served, and the answers its paths
and methods get."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import ClientSession
from paycore.edge import EdgeServer

from tests.edge.helpers import bearer, call, new_merchant


async def test_head_answers_wherever_get_does_with_the_same_status_and_no_body(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    for path in ("/v1/balance", "/v1/customers?limit=2", "/v1/customers/cus_missing"):
        async with http.get(path, headers=bearer(key)) as got:
            body = await got.read()
        async with http.head(path, headers=bearer(key)) as head:
            assert (head.status, head.content_type) == (got.status, got.content_type), path
            assert head.headers["Content-Length"] == str(len(body)), path
            assert head.headers["Request-Id"].startswith("req_")
            assert await head.read() == b""
    for path in ("/healthz", "/openapi.json", "/dashboard/login"):
        async with http.head(path) as head:
            assert head.status == 200, path


async def test_a_method_not_allowed_lists_head_with_get(http: ClientSession) -> None:
    wrong = await call(http, "PUT", "/v1/customers")
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "GET, HEAD, POST"
    async with http.head("/v1/payment_intents/pi_1/capture") as only_post:
        assert (only_post.status, only_post.headers["Allow"]) == (405, "POST")


async def test_a_dashboard_path_with_a_trailing_slash_redirects_to_the_one_without(
    http: ClientSession,
) -> None:
    redirects = {
        "/dashboard/": "/dashboard",
        "/dashboard/payments/": "/dashboard/payments",
        "/dashboard/payments/pi_1/?x=1": "/dashboard/payments/pi_1?x=1",
    }
    for path, location in redirects.items():
        async with http.get(path, allow_redirects=False) as answer:
            assert (answer.status, answer.headers.get("Location")) == (301, location), path
    async with http.get("/dashboard//example.test/", allow_redirects=False) as elsewhere:
        assert elsewhere.status == 404
    async with http.get("/dashboard/", allow_redirects=True) as followed:
        assert followed.url.path == "/dashboard/login"


async def _raw(port: int, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """The status line, headers and body the edge answers `request`, sent as bytes (aiohttp's
    client refuses to send what the server's parser is to refuse)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name: value for name, _, value in (line.partition(": ") for line in lines)}
    return status_line.encode(), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /v1/customers?email=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: edge\r\n\r\n",
        b"GET /v1/balance HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer sk_\x01secret\r\n\r\n",
        b"GET /v1/balance HTTP/1.1\r\nHost: edge\r\nX-Note: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /v1/bal\x01ance HTTP/1.1\r\nHost: edge\r\n\r\n",
    ],
)
async def test_a_request_the_http_parser_refuses_gets_the_json_error_and_a_warning(
    edge_server: EdgeServer, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    with caplog.at_level(logging.DEBUG):
        status_line, headers, body = await _raw(edge_server.port, request_bytes)
    assert status_line.split(b" ")[1] == b"400", status_line
    assert headers["Content-Type"].startswith("application/json"), headers
    request_id = headers["Request-Id"]
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_malformed")
    assert b"secret" not in body and b"aaaa" not in body
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert warning.exc_info is None and request_id in warning.getMessage()
    assert "secret" not in warning.getMessage()
