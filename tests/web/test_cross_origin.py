"""A merchant's own page, on its own origin, pays as Stripe.js does: it creates the intent on
its server (secret key), then in the browser tokenizes the card with the publishable key and
confirms with the intent's client secret, calling the REST edge cross-origin. Without the edge's
CORS answers the browser refuses the preflight and the page cannot read a single answer."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from playwright.async_api import Browser

from tests.edge.helpers import bearer
from tests.web.conftest import Storefront

PAY_FROM_THE_PAGE = """
async ([edge, publishable, intent, secret]) => {
  const headers = {
    "Authorization": "Bearer " + publishable,
    "Content-Type": "application/x-www-form-urlencoded",
  };
  const card = new URLSearchParams({
    "type": "card", "card[number]": "4242424242424242",
    "card[exp_month]": "12", "card[exp_year]": "2034", "card[cvc]": "123",
  });
  const method = await fetch(edge + "/v1/payment_methods", {method: "POST", headers, body: card});
  const pm = await method.json();
  const confirm = new URLSearchParams({"payment_method": pm.id, "client_secret": secret});
  const confirmed = await fetch(edge + "/v1/payment_intents/" + intent + "/confirm", {
    method: "POST", headers: {...headers, "Idempotency-Key": "page-" + intent}, body: confirm,
  });
  return {
    method_status: method.status, status: confirmed.status,
    intent: await confirmed.json(), request_id: confirmed.headers.get("Request-Id"),
  };
}
"""


async def test_a_merchants_own_page_tokenizes_and_confirms_cross_origin(
    storefront: Storefront, browser: Browser
) -> None:
    async with ClientSession(base_url=storefront.edge_url) as http:
        form = {"amount": "1500", "currency": "usd"}
        async with http.post(
            "/v1/payment_intents", data=form, headers=bearer(storefront.secret_key)
        ) as created:
            intent: dict[str, Any] = await created.json()
    page = await browser.new_page()
    try:
        await page.goto(f"{storefront.site_url}/cart")  # the merchant's origin, not the edge's
        paid = await page.evaluate(
            PAY_FROM_THE_PAGE,
            [
                storefront.edge_url,
                storefront.shop.merchant.publishable_key,
                intent["id"],
                intent["client_secret"],
            ],
        )
    finally:
        await page.close()
    assert paid["method_status"] == 200, paid
    assert (paid["status"], paid["intent"]["status"]) == (200, "succeeded"), paid
    assert paid["request_id"].startswith("req_"), paid  # an exposed header the page may read
    await storefront.shop.assert_books_balance()


async def test_the_preflight_allows_the_api_and_not_the_dashboard(storefront: Storefront) -> None:
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }
    async with ClientSession(base_url=storefront.edge_url) as http:
        async with http.options("/v1/payment_methods", headers=preflight) as api:
            assert api.status == 204
            assert api.headers["Access-Control-Allow-Origin"] == "*"
            allowed = api.headers["Access-Control-Allow-Headers"].lower()
            assert {"authorization", "content-type", "idempotency-key"} <= {
                name.strip() for name in allowed.split(",")
            }
            assert "POST" in api.headers["Access-Control-Allow-Methods"]
            assert "Access-Control-Allow-Credentials" not in api.headers
        # The dashboard's cookie sessions stay same-origin: no CORS answer for its paths.
        async with http.options("/dashboard/login", headers=preflight) as dashboard:
            assert "Access-Control-Allow-Origin" not in dashboard.headers
        async with http.get("/dashboard/login") as page:
            assert "Access-Control-Allow-Origin" not in page.headers
        # An OPTIONS that is no preflight is still a method the API does not answer.
        async with http.options("/v1/payment_methods") as plain:
            assert plain.status == 405
