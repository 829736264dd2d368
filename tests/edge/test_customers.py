"""CustomerService over the REST edge, end to end, with Stripe's form bodies as Stripe.js and
Stripe's SDKs send them."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant

CARD_FORM = "type=card&card[number]=4242+4242+4242+4242&card[exp_month]=12&card[exp_year]=2031"


async def test_customers_create_read_update_and_list(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/customers",
        key=key,
        form="email=jenny%40example.com&name=Jenny+Rosen&address[country]=us"
        "&address[city]=Springfield&metadata[crm]=42",
    )
    assert created.status == 200, created.body
    customer = created.body
    assert customer["id"].startswith("cus_")
    assert customer["address"]["country"] == "US"
    assert customer["invoice_settings"] == {"default_payment_method": None}  # an unset id
    assert customer["metadata"] == {"crm": "42"}

    read = await call(http, "GET", f"/v1/customers/{customer['id']}", key=key)
    assert read.status == 200 and read.body == customer

    updated = await call(
        http,
        "POST",
        f"/v1/customers/{customer['id']}",
        key=key,
        form="name=Jenny+R.&metadata[crm]=",
    )
    assert updated.status == 200, updated.body
    assert updated.body["name"] == "Jenny R." and updated.body["email"] == "jenny@example.com"
    assert updated.body["metadata"] == {}

    await call(http, "POST", "/v1/customers", key=key, json_body={"email": "x@example.com"})
    listed = await call(http, "GET", "/v1/customers?email=jenny%40example.com&limit=5", key=key)
    assert listed.status == 200, listed.body
    assert [item["id"] for item in listed.body["data"]] == [customer["id"]]
    assert listed.body["has_more"] is False

    bad = await call(http, "POST", "/v1/customers", key=key, form="email=nope")
    assert (bad.status, bad.error["param"], bad.error["code"]) == (
        400,
        "email",
        "parameter_invalid",
    )


async def test_payment_methods_tokenize_with_the_publishable_key_attach_and_detach(
    http: ClientSession, settings_admin_token: str
) -> None:
    merchant = await new_merchant(http, settings_admin_token)
    key, publishable = merchant["secret_key"], merchant["publishable_key"]
    tokenized = await call(
        http, "POST", "/v1/payment_methods", key=publishable, form=CARD_FORM + "&card[cvc]=123"
    )
    assert tokenized.status == 200, tokenized.body
    method = tokenized.body
    assert method["id"].startswith("pm_") and method["type"] == "card"
    assert method["card"]["brand"] == "visa" and method["card"]["last4"] == "4242"
    assert method["card"]["funding"] == "credit" and method["card"]["country"] == "US"
    assert "number" not in method["card"] and "cvc" not in method["card"]

    read = await call(http, "GET", f"/v1/payment_methods/{method['id']}", key=key)
    # The publishable key saw a per-merchant fingerprint (issue 23, item 5), nothing else differs.
    assert read.body["card"].pop("fingerprint") != method["card"].pop("fingerprint")
    assert read.status == 200 and read.body == method
    denied = await call(http, "GET", f"/v1/payment_methods/{method['id']}", key=publishable)
    assert denied.status == 403

    customer = (await call(http, "POST", "/v1/customers", key=key, form="name=Payer")).body
    attached = await call(
        http,
        "POST",
        f"/v1/payment_methods/{method['id']}/attach",
        key=key,
        form=f"customer={customer['id']}",
    )
    assert attached.status == 200, attached.body
    assert attached.body["customer"] == customer["id"]
    listed = await call(http, "GET", f"/v1/payment_methods?customer={customer['id']}", key=key)
    assert listed.status == 200, listed.body
    assert [item["id"] for item in listed.body["data"]] == [method["id"]]
    # Stripe's own route for it (the SDKs' Customer.list_payment_methods).
    of_customer = await call(
        http, "GET", f"/v1/customers/{customer['id']}/payment_methods?type=card", key=key
    )
    assert of_customer.status == 200, of_customer.body
    assert [item["id"] for item in of_customer.body["data"]] == [method["id"]]
    assert of_customer.body["url"] == f"/v1/customers/{customer['id']}/payment_methods"
    unknown = customer["id"][:-1] + ("A" if customer["id"][-1] != "A" else "B")
    missing = await call(http, "GET", f"/v1/customers/{unknown}/payment_methods", key=key)
    assert (missing.status, missing.error["param"]) == (404, "customer")

    detached = await call(http, "POST", f"/v1/payment_methods/{method['id']}/detach", key=key)
    assert detached.status == 200, detached.body
    assert detached.body["customer"] is None  # as Stripe: an unset id is null
    again = await call(http, "POST", f"/v1/payment_methods/{method['id']}/detach", key=key)
    assert (again.status, again.error["code"]) == (400, "payment_method_not_attached")


async def test_a_bad_card_is_a_card_error_naming_the_field_not_the_number(
    http: ClientSession, settings_admin_token: str
) -> None:
    publishable = (await new_merchant(http, settings_admin_token))["publishable_key"]
    wrong_digit = CARD_FORM.replace("4242+4242+4242+4242", "4242424242424241")
    refused = await call(http, "POST", "/v1/payment_methods", key=publishable, form=wrong_digit)
    assert refused.status == 402, refused.body  # Stripe's status of every card_error
    assert refused.error["type"] == "card_error"
    assert (refused.error["code"], refused.error["param"]) == ("invalid_number", "card[number]")
    assert "4242424242424241" not in str(refused.body)
    expired = await call(
        http,
        "POST",
        "/v1/payment_methods",
        key=publishable,
        json_body={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123"},
        },
    )
    assert (expired.status, expired.error["code"]) == (402, "expired_card")
    assert expired.error["param"] == "card[exp_year]"


async def test_a_payment_method_modified_over_http(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's PaymentMethod.modify: POST /v1/payment_methods/{id} with the fields to change."""
    merchant = await new_merchant(http, settings_admin_token)
    key = merchant["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/payment_methods",
        key=key,
        form=CARD_FORM + "&card[cvc]=123&billing_details[email]=jenny%40example.com",
    )
    assert created.status == 200, created.body
    path = f"/v1/payment_methods/{created.body['id']}"
    modified = await call(
        http,
        "POST",
        path,
        key=key,
        form="billing_details[name]=Jenny+Rosen&billing_details[address][country]=us"
        "&card[exp_month]=3&card[exp_year]=2033&metadata[order]=6735",
    )
    assert modified.status == 200, modified.body
    method = modified.body
    assert method["billing_details"]["name"] == "Jenny Rosen"
    assert method["billing_details"]["email"] == "jenny@example.com"  # kept
    assert method["billing_details"]["address"]["country"] == "US"
    assert (method["card"]["exp_month"], method["card"]["exp_year"]) == (3, 2033)
    assert method["metadata"] == {"order": "6735"}

    expired = await call(http, "POST", path, key=key, form="card[exp_year]=2020")
    assert (expired.status, expired.error["code"]) == (402, "expired_card")
    assert expired.error["param"] == "card[exp_year]"
    denied = await call(
        http, "POST", path, key=merchant["publishable_key"], form="metadata[order]=1"
    )
    assert denied.status == 403
    read = await call(http, "GET", path, key=key)
    assert read.body == method


async def test_a_customers_absent_text_and_address_are_null_as_stripes(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(http, "POST", "/v1/customers", key=key, form="metadata[crm]=42")
    assert created.status == 200, created.body
    absent = ("name", "email", "phone", "description", "address")
    assert {name: created.body[name] for name in absent} == dict.fromkeys(absent)
    path = f"/v1/customers/{created.body['id']}"
    given = await call(
        http,
        "POST",
        path,
        key=key,
        form="name=Ada&email=ada%40example.com&phone=555&description=VIP&address[city]=Paris",
    )
    assert given.status == 200, given.body
    assert (given.body["name"], given.body["phone"], given.body["description"]) == (
        "Ada",
        "555",
        "VIP",
    )
    assert given.body["address"]["city"] == "Paris"
    cleared = await call(
        http, "POST", path, key=key, form="name=&email=&phone=&description=&address="
    )
    assert cleared.status == 200, cleared.body
    assert {name: cleared.body[name] for name in absent} == dict.fromkeys(absent)
    read = await call(http, "GET", path, key=key)
    assert read.body == cleared.body
