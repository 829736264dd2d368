"""What HTTP itself asks of the edge: HEAD wherever GET is served, and the answers its paths
and methods get."""

from __future__ import annotations

from aiohttp import ClientSession

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
