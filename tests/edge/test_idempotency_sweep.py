"""Every mutating route a merchant's secret key calls, walked as a merchant retrying would:
the same Idempotency-Key and body twice answer the same status and body, the second with
`Idempotent-Replayed: true`, and the same key with another body is Stripe's 400
`idempotency_error` (deploy/edge.md). The answers that issue a secret carry it once only
(absent from the replay, as a GET: deploy/edge.md's table)."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import ClientSession

from tests.edge.helpers import Answer, call, new_merchant
from tests.payment.shop import PayIn, good_card
from tests.payout.support import ROUTING

SHOWN_ONCE = ("secret",)
_keys = itertools.count()


class Merchant:
    def __init__(self, http: ClientSession, key: str) -> None:
        self.http, self.key = http, key

    async def ok(self, path: str, form: str = "", method: str = "POST") -> dict[str, Any]:
        answer = await call(self.http, method, path, key=self.key, form=form)
        assert answer.status == 200, (path, answer.body)
        body: dict[str, Any] = answer.body
        return body

    async def retried(
        self, method: str, path: str, form: str, other: str | None = None
    ) -> dict[str, Any]:
        """`form` sent twice with one key (and `other` with it after): the first answer."""
        headers = {"Idempotency-Key": f"sweep-{next(_keys)}-{path}"[:255]}
        first, again = [
            await call(self.http, method, path, key=self.key, form=form, headers=headers)
            for _ in range(2)
        ]
        assert first.status == 200, (method, path, first.body)
        assert (again.status, _without_secrets(again)) == (200, _without_secrets(first)), path
        assert again.headers.get("Idempotent-Replayed") == "true", (method, path)
        assert "Idempotent-Replayed" not in first.headers, (method, path)
        if other is not None:
            reused = await call(self.http, method, path, key=self.key, form=other, headers=headers)
            assert reused.status == 400, (method, path, reused.body)
            assert reused.error["type"] == "idempotency_error", (method, path, reused.body)
        body: dict[str, Any] = first.body
        return body


def _without_secrets(answer: Answer) -> dict[str, Any]:
    return {name: value for name, value in answer.body.items() if name not in SHOWN_ONCE}


def _card() -> str:
    return f"type=card&card[number]={good_card()}&card[exp_month]=12&card[exp_year]=2034"


async def test_every_merchant_route_replays_its_answer_once_keyed(
    payin_http: ClientSession, payin: PayIn
) -> None:
    merchant = await new_merchant(payin_http, payin.admin_token)
    m = Merchant(payin_http, merchant["secret_key"])
    customer = await m.retried("POST", "/v1/customers", "name=Ann", "name=Bob")
    cus = customer["id"]
    await m.retried("POST", f"/v1/customers/{cus}", "name=Ann2", "name=Bob2")
    pm = (await m.retried("POST", "/v1/payment_methods", _card(), _card()))["id"]
    await m.retried("POST", f"/v1/payment_methods/{pm}", "billing_details[name]=A", "metadata[a]=1")
    await m.retried("POST", f"/v1/payment_methods/{pm}/attach", f"customer={cus}")
    product = (await m.retried("POST", "/v1/products", "name=Widget", "name=Gadget"))["id"]
    await m.retried("POST", f"/v1/products/{product}", "name=W2", "name=G2")
    one_off = f"product={product}&unit_amount=500&currency=usd"
    price = (await m.retried("POST", "/v1/prices", one_off, one_off + "&nickname=n"))["id"]
    await m.retried("POST", f"/v1/prices/{price}", "nickname=a", "nickname=b")
    monthly = (await m.ok("/v1/prices", one_off + "&recurring[interval]=month"))["id"]

    held = f"amount=1000&currency=usd&payment_method={pm}&customer={cus}&capture_method=manual"
    intent = (await m.retried("POST", "/v1/payment_intents", held, held + "&description=x"))["id"]
    await m.retried("POST", f"/v1/payment_intents/{intent}", "description=a", "description=b")
    await m.retried("POST", f"/v1/payment_intents/{intent}/confirm", "")
    await m.retried("POST", f"/v1/payment_intents/{intent}/capture", "amount_to_capture=1000")
    refund = f"payment_intent={intent}&amount=100"
    refunded = (await m.retried("POST", "/v1/refunds", refund, f"payment_intent={intent}"))["id"]
    await m.retried("POST", f"/v1/refunds/{refunded}", "metadata[a]=1", "metadata[a]=2")
    unpaid = (await m.ok("/v1/payment_intents", "amount=700&currency=usd"))["id"]
    await m.retried("POST", f"/v1/payment_intents/{unpaid}/cancel", "")
    paid = await m.ok(
        "/v1/payment_intents",
        f"amount=900&currency=usd&payment_method={pm}&customer={cus}&confirm=true",
    )
    charge = paid["latest_charge"]
    await m.retried("POST", f"/v1/charges/{charge}", "description=a", "description=b")

    coupon = (await m.retried("POST", "/v1/coupons", "percent_off=10&duration=forever"))["id"]
    await m.retried("POST", f"/v1/coupons/{coupon}", "name=a", "name=b")
    code = f"coupon={coupon}&code=SWEEP{next(_keys)}"
    promo = (await m.retried("POST", "/v1/promotion_codes", code, code + "X"))["id"]
    await m.retried("POST", f"/v1/promotion_codes/{promo}", "metadata[a]=1", "metadata[a]=2")
    await m.ok(f"/v1/customers/{cus}", f"coupon={coupon}")
    await m.retried("DELETE", f"/v1/customers/{cus}/discount", "")

    subscribe = f"customer={cus}&items[0][price]={monthly}&default_payment_method={pm}"
    sub = await m.retried("POST", "/v1/subscriptions", subscribe, subscribe + "&metadata[a]=1")
    await m.retried("POST", f"/v1/subscriptions/{sub['id']}", "metadata[a]=1", "metadata[a]=2")
    item = sub["items"]["data"][0]["id"]
    await m.retried("POST", f"/v1/subscription_items/{item}", "quantity=2", "quantity=3")
    other = await m.ok("/v1/prices", one_off.replace("500", "900") + "&recurring[interval]=month")
    added = f"subscription={sub['id']}&price={other['id']}"
    new_item = await m.retried("POST", "/v1/subscription_items", added, added + "&quantity=4")
    await m.retried("DELETE", f"/v1/subscription_items/{new_item['id']}", "")
    await m.retried("POST", f"/v1/subscriptions/{sub['id']}/cancel", "")
    second = (await m.ok("/v1/subscriptions", subscribe))["id"]
    await m.retried("DELETE", f"/v1/subscriptions/{second}", "")

    one_invoice = f"customer={cus}&currency=usd"
    invoice = await m.retried("POST", "/v1/invoices", one_invoice, one_invoice + "&description=d")
    line = f"customer={cus}&amount=300&currency=usd&invoice={invoice['id']}"
    await m.retried("POST", "/v1/invoiceitems", line, line.replace("300", "301"))
    await m.retried("POST", f"/v1/invoices/{invoice['id']}", "description=a", "description=b")
    await m.retried("POST", f"/v1/invoices/{invoice['id']}/finalize", "")
    await m.retried("POST", f"/v1/invoices/{invoice['id']}/pay", f"payment_method={pm}")
    draft = (await m.ok("/v1/invoices", one_invoice))["id"]
    await m.retried("DELETE", f"/v1/invoices/{draft}", "")
    loose = (await m.ok("/v1/invoiceitems", f"customer={cus}&amount=300&currency=usd"))["id"]
    await m.retried("POST", f"/v1/invoiceitems/{loose}", "amount=400", "amount=500")
    await m.retried("DELETE", f"/v1/invoiceitems/{loose}", "")
    for action in ("void", "mark_uncollectible"):
        open_invoice = (await m.ok("/v1/invoices", one_invoice))["id"]
        await m.ok("/v1/invoiceitems", f"{line.rsplit('&', 1)[0]}&invoice={open_invoice}")
        await m.ok(f"/v1/invoices/{open_invoice}/finalize")
        await m.retried("POST", f"/v1/invoices/{open_invoice}/{action}", "")

    setup = (await m.retried("POST", "/v1/setup_intents", f"customer={cus}"))["id"]
    await m.retried("POST", f"/v1/setup_intents/{setup}", "description=a", "description=b")
    second_card = (await m.ok("/v1/payment_methods", _card()))["id"]
    await m.retried("POST", f"/v1/setup_intents/{setup}/confirm", f"payment_method={second_card}")
    dropped = (await m.ok("/v1/setup_intents", f"customer={cus}"))["id"]
    await m.retried("POST", f"/v1/setup_intents/{dropped}/cancel", "")
    await m.retried("POST", f"/v1/payment_methods/{pm}/detach", "")

    session = (
        f"mode=payment&line_items[0][price]={price}&line_items[0][quantity]=1"
        "&success_url=https%3A%2F%2Fshop.test%2Fdone"
    )
    cs = (await m.retried("POST", "/v1/checkout/sessions", session, session + "&locale=fr"))["id"]
    await m.retried("POST", f"/v1/checkout/sessions/{cs}", "metadata[a]=1", "metadata[a]=2")
    await m.retried("POST", f"/v1/checkout/sessions/{cs}/expire", "")

    endpoint = "url=https%3A%2F%2F93.184.215.14%2Fhook&enabled_events[]=*"
    hook = await m.retried("POST", "/v1/webhook_endpoints", endpoint, endpoint + "&description=d")
    await m.retried("POST", f"/v1/webhook_endpoints/{hook['id']}", "description=a", "description=b")
    await m.retried("POST", f"/v1/webhook_endpoints/{hook['id']}/roll_secret", "")
    await m.retried("DELETE", f"/v1/webhook_endpoints/{hook['id']}", "")

    scoped = "name=a&scopes[]=customers:read"
    api_key = (await m.retried("POST", "/v1/api_keys", scoped, scoped.replace("=a", "=b")))["id"]
    await m.retried("POST", f"/v1/api_keys/{api_key}/roll", "")
    await m.retried("POST", f"/v1/api_keys/{api_key}/revoke", "")

    bank = (
        f"country=US&currency=usd&account_holder_name=Jenny+Rosen&routing_number={ROUTING}"
        "&account_number=000123456789"
    )
    await m.retried("POST", "/v1/bank_accounts", bank, bank.replace("Jenny", "Jane"))
    seller = "email=seller%40shop.test&country=US&default_currency=usd"
    await m.retried("POST", "/v1/accounts", seller, seller.replace("seller", "other"))
    await m.retried("POST", "/v1/payout_schedule", "interval=manual", "interval=daily")
    await m.retried("POST", "/v1/settlement_currencies", "currencies[0]=usd", "currencies[0]=eur")
    await m.retried(
        "POST", "/v1/billing_settings", "retry_schedule_days[0]=1", "final_action=cancel"
    )

    clock = await m.retried("POST", "/v1/test_helpers/test_clocks", "frozen_time=1800000000")
    advance = "frozen_time=1800003600"
    path = f"/v1/test_helpers/test_clocks/{clock['id']}"
    await m.retried("POST", f"{path}/advance", advance, advance.replace("36", "72"))
    await m.retried("DELETE", path, "")
    alias = f"alias=sweep{next(_keys)}&name=L&item_type=email"
    value_list = (
        await m.retried("POST", "/v1/radar/value_lists", alias, alias.replace("=L", "=M"))
    )["id"]
    await m.retried("POST", f"/v1/radar/value_lists/{value_list}", "name=X", "name=Y")
    entry = f"value_list={value_list}&value=a%40b.test"
    added_value = await m.retried(
        "POST", "/v1/radar/value_list_items", entry, entry.replace("a%", "c%")
    )
    await m.retried("DELETE", f"/v1/radar/value_list_items/{added_value['id']}", "")
    await m.retried("DELETE", f"/v1/radar/value_lists/{value_list}", "")
    await m.retried("DELETE", f"/v1/coupons/{coupon}", "")
    doomed = (await m.ok("/v1/customers", "email=gone%40shop.test"))["id"]
    await m.retried("DELETE", f"/v1/customers/{doomed}", "")

    customers = await call(payin_http, "GET", "/v1/customers?limit=100", key=m.key)
    assert len(customers.body["data"]) == 1  # one Ann; the deleted one is gone, none twice
