"""The dashboard words a payment's status as Stripe's dashboard does: a declined payment is
"failed" (the API's `requires_payment_method` read "requires payment method", as for one never
tried), an authorised one "uncaptured", a refunded one "refunded" or "partially refunded"; the
list's status filter still takes the API's statuses."""

from __future__ import annotations

import re

from aiohttp import ClientSession, CookieJar
from paycore.edge import start_edge

from tests.edge.helpers import call, card_method, charge, new_merchant
from tests.payment.shop import good_card
from tests.payout.support import World

DECLINED = "4000000000000002"
ROW = re.compile(
    r'<a href="/dashboard/payments/(pi_\w+)">.*?<span class="status status-(\w+)">', re.S
)


async def intent(http: ClientSession, key: str, number: str, extra: str = "") -> str:
    method = await card_method(http, key, number)
    form = f"amount=1000&currency=usd&confirm=true&payment_method={method}{extra}"
    created = await call(http, "POST", "/v1/payment_intents", key=key, form=form)
    return str(created.body.get("id") or created.body["error"]["payment_intent"]["id"])


async def test_the_payments_list_and_page_say_what_happened_to_each_payment(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    declined = await intent(http, key, DECLINED)
    uncaptured = await intent(http, key, good_card(), "&capture_method=manual")
    created = await call(
        http, "POST", "/v1/payment_intents", key=key, form="amount=1000&currency=usd"
    )
    incomplete = str(created.body["id"])
    partly, fully, paid = [
        await charge(http, key, 1000, good_card(), world.run_worker_once) for _ in range(3)
    ]
    for refunded, amount in [(partly, 400), (fully, 1000)]:
        form = f"payment_intent={refunded}&amount={amount}"
        assert (await call(http, "POST", "/v1/refunds", key=key, form=form)).status == 200
    expected = {
        declined: "failed",
        uncaptured: "uncaptured",
        incomplete: "incomplete",
        partly: "partially_refunded",
        fully: "refunded",
        paid: "succeeded",
    }
    edge = await start_edge(world.target, "127.0.0.1:0")
    try:
        jar = CookieJar(unsafe=True)
        async with ClientSession(base_url=f"http://127.0.0.1:{edge.port}", cookie_jar=jar) as web:
            async with web.post("/dashboard/login", data={"key": key}) as signed_in:
                assert signed_in.status == 200, await signed_in.text()
            async with web.get("/dashboard/payments") as listed:
                assert dict(ROW.findall(await listed.text())) == expected
            async with web.get(f"/dashboard/payments/{declined}") as page:
                text = await page.text()
                assert (
                    'data-testid="status" title="API status: requires_payment_method">failed'
                    in text
                )
                assert "Your card was declined." in text
            # The filter still speaks the API: a declined payment waits for a payment method.
            async with web.get("/dashboard/payments?status=requires_payment_method") as filtered:
                assert dict(ROW.findall(await filtered.text())) == {
                    declined: "failed",
                    incomplete: "incomplete",
                }
    finally:
        await edge.close()
