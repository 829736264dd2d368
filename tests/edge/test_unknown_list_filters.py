"""A list's filter naming an object the merchant does not have (`GET /v1/invoices?customer=`)
is the request's bad argument: 400 `resource_missing` naming the filter, the rule of every
request field naming a missing object; a path's object (`/v1/customers/{customer}/...`) is
404. `GET /v1/payment_methods?customer=` lists that customer's payment methods, as Stripe's."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from paycore.ids import Prefix, new_id

from tests.edge.helpers import call, new_merchant


def _unknown(prefix: Prefix) -> str:
    """A well-formed id that no merchant has."""
    return new_id(prefix, 0)


UNKNOWN = [
    # (the path, the id's {} in it; the kind of id; the filter the error names)
    ("/v1/invoices?customer={}", Prefix.CUSTOMER, "customer"),
    ("/v1/invoices?subscription={}", Prefix.SUBSCRIPTION, "subscription"),
    ("/v1/payment_intents?customer={}", Prefix.CUSTOMER, "customer"),
    ("/v1/payments?customer={}", Prefix.CUSTOMER, "customer"),
    ("/v1/subscriptions?customer={}", Prefix.CUSTOMER, "customer"),
    ("/v1/subscriptions?price={}", Prefix.PRICE, "price"),
    ("/v1/refunds?payment_intent={}", Prefix.PAYMENT_INTENT, "payment_intent"),
    ("/v1/refunds?payment_order={}", Prefix.PAYMENT_ORDER, "payment_order"),
    ("/v1/disputes?payment_intent={}", Prefix.PAYMENT_INTENT, "payment_intent"),
    ("/v1/checkout/sessions?payment_intent={}", Prefix.PAYMENT_INTENT, "payment_intent"),
    ("/v1/prices?product={}", Prefix.PRODUCT, "product"),
    ("/v1/payouts?destination={}", Prefix.BANK_ACCOUNT, "destination"),
    ("/v1/balance_transactions?payout={}", Prefix.PAYOUT, "payout"),
    ("/v1/payment_methods?customer={}", Prefix.CUSTOMER, "customer"),
    ("/v1/payment_methods?customer={}&type=card", Prefix.CUSTOMER, "customer"),
    ("/v1/webhook_deliveries?event={}", Prefix.EVENT, "event"),
]


# Ids made in the test, not at collection: pytest-xdist's processes must collect the same names.
@pytest.mark.parametrize(("path", "prefix", "param"), UNKNOWN, ids=[path for path, _, _ in UNKNOWN])
async def test_a_filter_naming_no_object_is_400_resource_missing(
    http: ClientSession, settings_admin_token: str, path: str, prefix: Prefix, param: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    answer = await call(http, "GET", path.format(_unknown(prefix)), key=key)
    assert answer.status == 400, answer.body
    assert (answer.error["code"], answer.error["param"]) == ("resource_missing", param)


async def test_payment_methods_of_a_customer_by_query_or_path(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Ada")).body["id"]
    card = "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034"
    method = (await call(http, "POST", "/v1/payment_methods", key=key, form=card)).body["id"]
    await call(http, "POST", "/v1/payment_methods", key=key, form=card)  # not attached
    attached = await call(
        http, "POST", f"/v1/payment_methods/{method}/attach", key=key, form=f"customer={customer}"
    )
    assert attached.status == 200, attached.body
    for path in (
        f"/v1/payment_methods?customer={customer}",
        f"/v1/payment_methods?customer={customer}&type=card",
        f"/v1/customers/{customer}/payment_methods",
    ):
        listed = await call(http, "GET", path, key=key)
        assert listed.status == 200, (path, listed.body)
        assert [each["id"] for each in listed.body["data"]] == [method], path
    missing = await call(
        http, "GET", f"/v1/customers/{_unknown(Prefix.CUSTOMER)}/payment_methods", key=key
    )
    assert (missing.status, missing.error["code"]) == (404, "resource_missing"), missing.body
    assert missing.error["param"] == "customer"
