"""A required parameter left out is Stripe's `parameter_missing` (400, invalid_request_error,
`param` naming it) on every create route; a value given and refused stays `parameter_invalid`.
An amount of 0 is given (below the minimum), not missing: the proto's `optional` tells them
apart, as Stripe does."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from paycore.ids import Prefix, new_id

from tests.edge.helpers import call, seller_account
from tests.helpers import MerchantFixture

INTENT, ORDER = new_id(Prefix.PAYMENT_INTENT, 0), new_id(Prefix.PAYMENT_ORDER, 0)
ITEM = f"customer={new_id(Prefix.CUSTOMER, 0)}&subscription={new_id(Prefix.SUBSCRIPTION, 0)}"
ORDERS = (
    "payment_method=pm_card_visa&checkout_id=order-1"
    "&payment_orders[0][payment_order_id]=o1&payment_orders[0][currency]=usd"
)
SUCCESS = "success_url=https%3A%2F%2Fshop.test%2Fdone"

# (path, form, the param missing); {product} and {account} are filled in.
MISSING = [
    ("/v1/payment_intents", "currency=usd", "amount"),
    ("/v1/payouts", "currency=usd", "amount"),
    ("/v1/transfers", "currency=usd&destination={account}", "amount"),
    ("/v1/refunds", "amount=100", "payment_intent"),
    ("/v1/prices", "product={product}&unit_amount=100", "currency"),
    ("/v1/prices", "product={product}&currency=usd", "unit_amount"),
    ("/v1/webhook_endpoints", "enabled_events[]=*", "url"),
    ("/v1/checkout/sessions", f"currency=usd&mode=payment&{SUCCESS}", "amount"),
    ("/v1/fraud/assessments", "currency=usd", "amount"),
    ("/v1/coupons", "percent_off=10&duration=repeating", "duration_in_months"),
    ("/v1/api_keys", "name=reporting", "scopes"),
    ("GET /v1/customers/search", "", "query"),
    ("/v1/invoiceitems", f"{ITEM}&currency=usd", "amount"),
    (
        "/v1/payments",
        f"{ORDERS}&payment_orders[0][seller_account]={{account}}",
        "payment_orders[0][amount]",
    ),
]

# A value given and refused: what the same routes answer for it.
INVALID = [
    ("/v1/payment_intents", "currency=usd&amount=0", "amount"),
    ("/v1/payouts", "currency=usd&amount=0", "amount"),
    ("/v1/transfers", "currency=usd&amount=0&destination={account}", "amount"),
    ("/v1/refunds", f"payment_intent={INTENT}&payment_order={ORDER}", "payment_intent"),
    ("/v1/prices", "product={product}&currency=usd&unit_amount=0", "unit_amount"),
    ("/v1/webhook_endpoints", "enabled_events[]=*&url=ftp%3A%2F%2Fa.test", "url"),
    ("/v1/checkout/sessions", f"currency=usd&mode=payment&{SUCCESS}&amount=0", "amount"),
    ("/v1/fraud/assessments", "currency=usd&amount=0", "amount"),
    ("/v1/coupons", "percent_off=10&duration=weekly", "duration"),
    ("/v1/coupons", "percent_off=10&duration=repeating&duration_in_months=0", "duration_in_months"),
    ("GET /v1/customers/search", "query=+", "query"),
    ("/v1/invoiceitems", f"{ITEM}&currency=usd&amount=0", "amount"),
    (
        "/v1/payments",
        f"{ORDERS}&payment_orders[0][seller_account]={{account}}&payment_orders[0][amount]=0",
        "payment_orders[0][amount]",
    ),
]


@pytest.mark.parametrize(
    ("code", "cases"), [("parameter_missing", MISSING), ("parameter_invalid", INVALID)]
)
async def test_a_required_parameter_left_out_is_missing_and_a_bad_one_invalid(
    http: ClientSession, merchant: MerchantFixture, code: str, cases: list[tuple[str, str, str]]
) -> None:
    key = merchant.merchant.secret_key
    product = await call(http, "POST", "/v1/products", key=key, form="name=Plan")
    names = {"product": product.body["id"], "account": await seller_account(http, key)}
    found, wanted = [], []
    for path, form, param in cases:
        method, _, route = path.rpartition(" ")  # POST but where a method is named
        if method == "GET":
            answer = await call(http, method, f"{route}?{form}", key=key)
        else:
            answer = await call(http, "POST", route, key=key, form=form.format(**names))
        error = answer.body.get("error", {})
        found.append(
            (path, param, answer.status, error.get("type"), error.get("code"), error.get("param"))
        )
        wanted.append((path, param, 400, "invalid_request_error", code, param))

    assert found == wanted
