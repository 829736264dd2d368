"""CheckoutService over the REST edge: Stripe's form body for a session with line items,
Stripe's shape (`object: checkout.session`, lowercase status), list filters and expiry."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from aiohttp import ClientSession
from paycore.client import connect
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.runtime.interceptors.headers import FORWARDED_FOR_HEADER
from paycore.v1 import checkout_pb2

from tests.edge.helpers import call, new_merchant
from tests.helpers import free_port, serving

SESSION_FORM = (
    "currency=usd&line_items[0][name]=Mug&line_items[0][unit_amount]=1200"
    "&line_items[0][quantity]=2&customer_email=buyer%40shop.test"
    "&success_url=https://shop.test/ok&cancel_url=https://shop.test/cart&metadata[order]=9"
)


async def test_checkout_sessions_over_http(http: ClientSession, settings_admin_token: str) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(http, "POST", "/v1/checkout/sessions", key=key, form=SESSION_FORM)
    assert created.status == 200, created.body
    session = created.body
    assert session["object"] == "checkout.session"
    assert session["id"].startswith("cs_") and session["status"] == "open"
    assert session["amount_total"] == 2400 and session["currency"] == "usd"
    (line,) = session["line_items"]["data"]
    assert line["id"].startswith("li_")  # Stripe's line item id, the lines' cursor
    # Stripe's inline price of a line given by name: named after the line, inactive, no product.
    assert line["price"] == {
        "id": "price_" + line["id"].removeprefix("li_"),
        "object": "price",
        "livemode": False,
        "product": None,
        "unit_amount": 1200,
        "currency": "usd",
        "type": "one_time",
        "recurring": None,
        "active": False,
        "nickname": None,
        "created": session["created"],
        "metadata": {},
        "lookup_key": None,
    }
    assert {key: value for key, value in line.items() if key not in ("id", "created", "price")} == {
        "object": "item",
        "livemode": False,
        "name": "Mug",
        "description": "Mug",
        "currency": "usd",
        "unit_amount": 1200,
        "quantity": 2,
        "amount_subtotal": 2400,
        "amount_total": 2400,
    }
    assert session["line_items"]["object"] == "list"
    assert re.fullmatch(rf"http://[^/]+/c/pay/{session['id']}/[0-9A-Za-z]{{32}}", session["url"])
    assert session["payment_intent"].startswith("pi_")
    assert session["metadata"] == {"order": "9"}

    lines = await call(
        http, "GET", f"/v1/checkout/sessions/{session['id']}/line_items?limit=5", key=key
    )
    assert lines.status == 200, lines.body
    assert (lines.body["object"], lines.body["has_more"]) == ("list", False)
    assert lines.body["data"] == session["line_items"]["data"]
    assert lines.body["url"] == session["line_items"]["url"]

    read = await call(http, "GET", f"/v1/checkout/sessions/{session['id']}", key=key)
    assert read.status == 200 and read.body == session

    expired = await call(http, "POST", f"/v1/checkout/sessions/{session['id']}/expire", key=key)
    assert expired.status == 200, expired.body
    assert expired.body["status"] == "expired"
    again = await call(http, "POST", f"/v1/checkout/sessions/{session['id']}/expire", key=key)
    assert (again.status, again.error["code"]) == (400, "checkout_session_unexpected_state")

    listed = await call(http, "GET", "/v1/checkout/sessions?status=expired&limit=5", key=key)
    assert listed.status == 200, listed.body
    assert listed.body["object"] == "list"
    assert [item["id"] for item in listed.body["data"]] == [session["id"]]
    none_open = await call(http, "GET", "/v1/checkout/sessions?status=open", key=key)
    assert none_open.body["data"] == []

    soon = int(time.time()) + 60
    bad = await call(
        http, "POST", "/v1/checkout/sessions", key=key, form=f"{SESSION_FORM}&expires_at={soon}"
    )
    assert (bad.status, bad.error["param"]) == (400, "expires_at")


async def test_a_session_no_charge_could_pay_is_refused_naming_its_amount(
    http: ClientSession, settings_admin_token: str
) -> None:
    """The currency's charge rules hold for the payment intent a session creates, as for one
    made with CreatePaymentIntent: a session below the least charge, or in a currency's
    forbidden last digit, is refused naming what sets its amount, and nothing is created."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    urls = "success_url=https://shop.test/ok&cancel_url=https://shop.test/cart"
    for what, code, param in [
        ("currency=usd&amount=1", "amount_too_small", "amount"),
        ("currency=bhd&amount=205", "amount_not_allowed", "amount"),
        (
            "currency=usd&line_items[0][name]=Pin&line_items[0][unit_amount]=10",
            "amount_too_small",
            "line_items",
        ),
    ]:
        refused = await call(http, "POST", "/v1/checkout/sessions", key=key, form=f"{what}&{urls}")
        assert refused.status == 400, refused.body
        assert (refused.error["code"], refused.error["param"]) == (code, param)
        if param == "amount":  # what CreatePaymentIntent says of the same amount
            intent = await call(http, "POST", "/v1/payment_intents", key=key, form=what)
            assert (intent.status, intent.error["code"]) == (400, code), intent.body
    listed = await call(http, "GET", "/v1/checkout/sessions", key=key)
    assert listed.body["data"] == []


async def test_the_hosted_page_says_when_paycore_cannot_be_reached() -> None:
    edge = await start_edge(f"127.0.0.1:{free_port()}", "127.0.0.1:0", pages_token="token")
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as client:
            async with client.get("/c/pay/cs_" + "0" * 22 + "/" + "A" * 32) as down:
                assert down.status == 503
                assert "Payments are unavailable" in await down.text()
                assert "script-src 'self'" in down.headers["Content-Security-Policy"]
            async with client.get("/c/pay/not-a-session") as malformed:
                assert malformed.status == 404
                assert "does not exist" in await malformed.text()
    finally:
        await edge.close()


@asynccontextmanager
async def _limited_page(
    migrated: Settings,
    admin_token: str,
    trusted_proxies: tuple[str, ...] = (),
    per_second: int = 3,
) -> AsyncIterator[tuple[str, ClientSession, dict[str, str]]]:
    """A server whose payments class allows `per_second` calls a second, an edge in front of
    it (behind `trusted_proxies`) and a new checkout session: (gRPC target, HTTP client, the
    session's REST body)."""
    limited = migrated.with_overrides(
        rate_limits_per_second={"payments": per_second, "subscriptions": 10, "other": 100},
        redis_key_prefix=f"{migrated.redis_key_prefix}{os.urandom(4).hex()}:",
    )
    async with serving(limited) as target:
        edge = await start_edge(
            target,
            "127.0.0.1:0",
            operator_routes=True,
            pages_token=admin_token,
            trusted_proxies=trusted_proxies,
        )
        try:
            async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}") as http:
                key = (await new_merchant(http, admin_token))["secret_key"]
                created = await call(
                    http, "POST", "/v1/checkout/sessions", key=key, form=SESSION_FORM
                )
                assert created.status == 200, created.body
                yield target, http, created.body
        finally:
            await edge.close()


async def test_the_hosted_page_is_limited_per_visitor_address(
    migrated: Settings, settings_admin_token: str
) -> None:
    """The edge reads pages with its own credential, which is not limited: GetCheckoutPage
    counts per visitor's address instead (the edge forwards it), in the payments class."""
    async with _limited_page(migrated, settings_admin_token) as (target, http, session):
        statuses = []
        for _ in range(4):
            async with http.get(urlsplit(session["url"]).path) as answer:
                statuses.append(answer.status)
                text, headers = await answer.text(), answer.headers
        assert statuses == [200, 200, 200, 429]
        assert "Too many requests" in text and headers["Retry-After"] == "1"
        # Another visitor (as a trusted proxy, the edge here, forwards it) has an allowance
        # of its own: one address cannot use up the pages of everyone behind the edge.
        async with connect(target, settings_admin_token, retries=False) as admin:
            other = await admin.checkout.GetCheckoutPage(
                _page_request(session),
                metadata=((FORWARDED_FOR_HEADER, "203.0.113.9"),),
            )
        assert other.session.id == session["id"]


def _page_request(session: dict[str, str]) -> checkout_pb2.GetCheckoutPageRequest:
    session_id, secret = urlsplit(session["url"]).path.removeprefix("/c/pay/").split("/")
    return checkout_pb2.GetCheckoutPageRequest(id=session_id, secret=secret)


async def test_the_hosted_page_opens_only_at_the_sessions_url(
    migrated: Settings, settings_admin_token: str
) -> None:
    """The session's id is guessable (a clock, a shard, a sequence) and its page hands out the
    intent's client_secret: the page opens at the session's `url` only, which carries a
    secret. The id alone, or a wrong secret, is the same 404 page as an unknown session."""
    async with _limited_page(migrated, settings_admin_token, per_second=100) as (_, http, session):

        async def visit(path: str) -> tuple[int, str]:
            async with http.get(path) as answer:
                return answer.status, await answer.text()

        unknown_id = "cs_" + "0" * 22
        missing = await visit(f"/c/pay/{unknown_id}")
        assert missing[0] == 404 and "This payment page does not exist" in missing[1]
        # The id alone, which was enough before.
        assert await visit(f"/c/pay/{session['id']}") == missing

        path = urlsplit(session["url"]).path
        secret = path.rsplit("/", 1)[1]
        assert path == f"/c/pay/{session['id']}/{secret}"
        status, text = await visit(path)
        assert status == 200, text
        assert f'data-client-secret="{session["payment_intent"]}_secret_' in text
        flipped = secret[:-1] + ("a" if secret[-1] != "a" else "b")
        for refused in (
            f"/c/pay/{unknown_id}/{secret}",
            f"/c/pay/{session['id']}/",
            f"/c/pay/{session['id']}/{flipped}",
            f"/c/pay/{session['id']}/{secret[:-1]}",
            f"/c/pay/{session['id']}/{secret}0",
            f"/c/pay/{session['id']}?secret={secret}",
            f"/c/pay/{session['id']}/{secret}/more",
        ):
            assert await visit(refused) == missing, refused


async def test_behind_a_trusted_proxy_each_visitor_has_an_allowance_of_its_own(
    migrated: Settings, settings_admin_token: str
) -> None:
    """With a load balancer in front of the edge (PAYCORE_EDGE_TRUSTED_PROXIES), the page is
    limited per visitor the balancer names, not per the balancer's own address: one busy
    visitor cannot take every other buyer's pages down."""
    trusted = ("127.0.0.1",)
    async with _limited_page(migrated, settings_admin_token, trusted) as (_, http, session):

        async def visit(visitor: str) -> int:
            headers = {"X-Forwarded-For": visitor}
            async with http.get(urlsplit(session["url"]).path, headers=headers) as answer:
                return answer.status

        # At once, so that the bucket (3 a second: one more each 333 ms) cannot refill between
        # the visits on a loaded machine (one at a time, the fourth came back 200 in a full run).
        busy = await asyncio.gather(*(visit("198.51.100.7") for _ in range(4)))
        assert sorted(busy) == [200, 200, 200, 429]
        assert await visit("198.51.100.8") == 200


async def test_a_sessions_lines_page_by_their_ids(
    http: ClientSession, settings_admin_token: str
) -> None:
    # Stripe's Session.list_line_items pages with starting_after as every list does.
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    form = "&".join(
        f"line_items[{index}][name]=Item{index}&line_items[{index}][unit_amount]={100 + index}"
        for index in range(3)
    )
    created = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form=f"currency=usd&{form}&success_url=https://shop.test/ok",
    )
    assert created.status == 200, created.body
    url = f"/v1/checkout/sessions/{created.body['id']}/line_items"
    first = await call(http, "GET", f"{url}?limit=2", key=key)
    assert [line["name"] for line in first.body["data"]] == ["Item0", "Item1"]
    assert first.body["has_more"] is True
    after = first.body["data"][-1]["id"]
    rest = await call(http, "GET", f"{url}?limit=2&starting_after={after}", key=key)
    assert [line["name"] for line in rest.body["data"]] == ["Item2"]
    assert rest.body["has_more"] is False
    foreign = "li_" + "0" * 22
    wrong = await call(http, "GET", f"{url}?starting_after={foreign}", key=key)
    assert (wrong.status, wrong.error["param"]) == (400, "starting_after")
