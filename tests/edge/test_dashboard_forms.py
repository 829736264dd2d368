"""The dashboard's forms over plain HTTP, as a browser posts them: what a form cannot use is a
4xx page saying so, never a 500. A refund amount it cannot read refunds nothing; one it reads
refunds it."""

from __future__ import annotations

import re

from aiohttp import ClientSession, CookieJar
from paycore.edge import EdgeServer, start_edge

from tests.edge.helpers import call, charge, new_merchant
from tests.payment.shop import good_card
from tests.payout.support import World

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_a_refund_amount_the_form_cannot_read_is_refused_and_refunds_nothing(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    intent = await charge(http, key, 2000, good_card(), world.run_worker_once)
    edge = await start_edge(world.target, "127.0.0.1:0")
    # The jar keeps the session cookie of an address host, as a browser does.
    jar = CookieJar(unsafe=True)
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}", cookie_jar=jar) as web:
            async with web.post("/dashboard/login", data={"key": key}) as signed_in:
                assert signed_in.status == 200 and signed_in.url.path == "/dashboard/payments"
            async with web.get(f"/dashboard/payments/{intent}") as page:
                found = CSRF.search(await page.text())
            assert found is not None
            # Not numbers (NaN, Infinity), more than any amount, and what only Python's Decimal
            # reads as one (digit grouping, another script's digit, an exponent).
            for amount in ["NaN", "Infinity", "99999999999999999999", "1_0", "\uff11", "1e1"]:
                form = {"csrf": found.group(1), "currency": "usd", "amount": amount}
                path = f"/dashboard/payments/{intent}/refund"
                async with web.post(path, data=form) as posted:
                    assert posted.status == 400, (amount, posted.status)
            form = {"csrf": found.group(1), "currency": "usd", "amount": "5."}
            async with web.post(path, data=form, allow_redirects=False) as posted:
                assert posted.status == 303, await posted.text()
    finally:
        await edge.close()
    refunds = await call(http, "GET", f"/v1/refunds?payment_intent={intent}", key=key)
    assert [refund["amount"] for refund in refunds.body["data"]] == [500]


async def test_a_sign_in_with_a_key_no_header_can_carry_is_refused(
    edge_server: EdgeServer, settings_admin_token: str
) -> None:
    """A key or merchant id with a character a gRPC header cannot hold (not printable ASCII)
    is no valid key: the sign-in page says so (401), as for any wrong key."""
    async with ClientSession(base_url=f"http://127.0.0.1:{edge_server.port}") as web:
        for form in [
            {"key": "sk_test_caf\u00e9"},
            {"key": "sk_test_\x01"},
            {"key": "\u00e9"},
            {"key": settings_admin_token, "merchant": "acct_\u00e9"},
        ]:
            async with web.post("/dashboard/login", data=form, allow_redirects=False) as answer:
                assert answer.status == 401, (form, answer.status)
                assert "not valid" in await answer.text()


async def test_a_guest_checkouts_email_finds_its_sessions(
    edge_server: EdgeServer, http: ClientSession, settings_admin_token: str
) -> None:
    """The payments search by email: a checkout's guest (`customer_email`, no customer) is no
    customer, and the page said "No customer has the email" of the buyer the merchant was
    looking for; it now opens the checkout sessions given that email, which link the payment."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    session = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form="currency=usd&amount=1500&success_url=https://shop.test/ok"
        "&customer_email=guest%40shop.test",
    )
    assert session.status == 200, session.body
    jar = CookieJar(unsafe=True)
    async with ClientSession(
        base_url=f"http://127.0.0.1:{edge_server.port}", cookie_jar=jar
    ) as web:
        async with web.post("/dashboard/login", data={"key": key}) as signed_in:
            assert signed_in.status == 200, await signed_in.text()
        async with web.get("/dashboard/payments?q=Guest%40shop.test") as found:
            text = await found.text()
            assert found.status == 200, text
            assert found.url.path == "/dashboard/checkout", found.url
            assert session.body["id"] in text and session.body["payment_intent"] in text
        async with web.get("/dashboard/payments?q=nobody%40shop.test") as nothing:
            assert "No customer or checkout session has the email" in await nothing.text()
