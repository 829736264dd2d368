"""DELETE /v1/customers/{id} (the Stripe SDKs' `Customer.delete`): Stripe's deleted stub, an
idempotent replay with the key, then the customer is gone (404 `resource_missing`)."""

from __future__ import annotations

import secrets

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant


async def test_a_customer_deleted_over_http_answers_stripes_stub(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(http, "POST", "/v1/customers", key=key, form="email=a%40example.com")
    customer = created.body["id"]
    attached = await call(
        http,
        "POST",
        "/v1/payment_methods/pm_card_visa/attach",
        key=key,
        form=f"customer={customer}",
    )
    assert attached.status == 200, attached.body
    idempotency = {"Idempotency-Key": f"delete-{secrets.token_hex(4)}"}

    deleted = await call(http, "DELETE", f"/v1/customers/{customer}", key=key, headers=idempotency)
    assert deleted.status == 200, deleted.body
    assert deleted.body == {"id": customer, "object": "customer", "deleted": True}
    replayed = await call(http, "DELETE", f"/v1/customers/{customer}", key=key, headers=idempotency)
    assert (replayed.status, replayed.body) == (200, deleted.body)

    gone = await call(http, "GET", f"/v1/customers/{customer}", key=key)
    assert (gone.status, gone.error["code"], gone.error["param"]) == (
        404,
        "resource_missing",
        "id",
    )
    again = await call(http, "DELETE", f"/v1/customers/{customer}", key=key)
    assert (again.status, again.error["code"]) == (404, "resource_missing")
    method = await call(http, "GET", f"/v1/payment_methods/{attached.body['id']}", key=key)
    assert method.body["customer"] is None
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=1000&currency=usd&customer={customer}",
    )
    assert (intent.status, intent.error["param"]) == (400, "customer")
    assert intent.error["code"] == "resource_missing"  # as Stripe's 400 for a missing reference
    read_only = await call(
        http, "POST", "/v1/api_keys", key=key, form="name=reader&scopes[]=customers:read"
    )
    assert read_only.status == 200, read_only.body
    other = await call(http, "POST", "/v1/customers", key=key, form="name=b")
    refused = await call(
        http, "DELETE", f"/v1/customers/{other.body['id']}", key=read_only.body["secret"]
    )
    assert refused.status == 403, refused.body
    kept = await call(http, "GET", f"/v1/customers/{other.body['id']}", key=key)
    assert kept.status == 200, kept.body


async def test_an_object_naming_a_deleted_customer_expands_it_as_stripes_stub(
    http: ClientSession, settings_admin_token: str
) -> None:
    """A payment intent outlives its customer: reading it with `expand[]=customer` answers the
    intent, its customer Stripe's deleted stub (not the customer's 404)."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=gone")).body["id"]
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=1000&currency=usd&customer={customer}",
    )
    assert intent.status == 200, intent.body
    await call(http, "DELETE", f"/v1/customers/{customer}", key=key)

    read = await call(
        http, "GET", f"/v1/payment_intents/{intent.body['id']}?expand[]=customer", key=key
    )
    assert read.status == 200, read.body
    assert read.body["customer"] == {"id": customer, "object": "customer", "deleted": True}
    listed = await call(http, "GET", "/v1/payment_intents?expand[]=data.customer", key=key)
    assert listed.status == 200, listed.body
    assert listed.body["data"][0]["customer"]["deleted"] is True
