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


UNKNOWN = {
    f"/v1/invoices?customer={_unknown(Prefix.CUSTOMER)}": "customer",
    f"/v1/invoices?subscription={_unknown(Prefix.SUBSCRIPTION)}": "subscription",
    f"/v1/payment_intents?customer={_unknown(Prefix.CUSTOMER)}": "customer",
    f"/v1/payments?customer={_unknown(Prefix.CUSTOMER)}": "customer",
    f"/v1/subscriptions?customer={_unknown(Prefix.CUSTOMER)}": "customer",
    f"/v1/subscriptions?price={_unknown(Prefix.PRICE)}": "price",
    f"/v1/refunds?payment_intent={_unknown(Prefix.PAYMENT_INTENT)}": "payment_intent",
    f"/v1/refunds?payment_order={_unknown(Prefix.PAYMENT_ORDER)}": "payment_order",
    f"/v1/disputes?payment_intent={_unknown(Prefix.PAYMENT_INTENT)}": "payment_intent",
    f"/v1/checkout/sessions?payment_intent={_unknown(Prefix.PAYMENT_INTENT)}": "payment_intent",
    f"/v1/prices?product={_unknown(Prefix.PRODUCT)}": "product",
    f"/v1/payouts?destination={_unknown(Prefix.BANK_ACCOUNT)}": "destination",
    f"/v1/balance_transactions?payout={_unknown(Prefix.PAYOUT)}": "payout",
    f"/v1/payment_methods?customer={_unknown(Prefix.CUSTOMER)}": "customer",
    f"/v1/payment_methods?customer={_unknown(Prefix.CUSTOMER)}&type=card": "customer",
    f"/v1/webhook_deliveries?event={_unknown(Prefix.EVENT)}": "event",
}


@pytest.mark.parametrize("path", sorted(UNKNOWN))
async def test_a_filter_naming_no_object_is_400_resource_missing(
    http: ClientSession, settings_admin_token: str, path: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    answer = await call(http, "GET", path, key=key)
    assert answer.status == 400, answer.body
    assert (answer.error["code"], answer.error["param"]) == ("resource_missing", UNKNOWN[path])


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
