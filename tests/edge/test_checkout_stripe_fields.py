"""A checkout session's fields as Stripe's Checkout Session renders them, for what a merchant
following Stripe's guides reads next: `client_reference_id` (the merchant's order or cart id,
given on create and read back on the session and its `checkout.session.completed` event),
`null` for a `customer_email` or `cancel_url` never given, and `total_details` with
Stripe's three amounts."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant

BASE = "currency=usd&amount=1500&success_url=https://shop.test/ok"


async def test_a_sessions_client_reference_id_is_kept_and_shown(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form=f"{BASE}&client_reference_id=order_42",
    )
    assert created.status == 200, created.body
    assert created.body["client_reference_id"] == "order_42"
    read = await call(http, "GET", f"/v1/checkout/sessions/{created.body['id']}", key=key)
    assert read.body["client_reference_id"] == "order_42"
    listed = await call(http, "GET", "/v1/checkout/sessions?limit=1", key=key)
    assert listed.body["data"][0]["client_reference_id"] == "order_42"

    without = await call(http, "POST", "/v1/checkout/sessions", key=key, form=BASE)
    assert without.status == 200, without.body
    assert without.body["client_reference_id"] is None

    # Stripe's limit: 200 characters; beyond it the field is named and nothing is created.
    too_long = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form=f"{BASE}&client_reference_id={'x' * 201}",
    )
    assert too_long.status == 400, too_long.body
    assert too_long.error["param"] == "client_reference_id"
    listed = await call(http, "GET", "/v1/checkout/sessions", key=key)
    assert len(listed.body["data"]) == 2


async def test_what_a_session_was_not_given_reads_null_as_stripes(
    http: ClientSession, settings_admin_token: str
) -> None:
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    created = await call(http, "POST", "/v1/checkout/sessions", key=key, form=BASE)
    assert created.status == 200, created.body
    session = created.body
    assert (session["customer_email"], session["cancel_url"]) == (None, None)
    assert session["total_details"] == {
        "amount_discount": 0,
        "amount_shipping": 0,
        "amount_tax": 0,
    }
    given = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form=f"{BASE}&customer_email=buyer%40shop.test&cancel_url=https://shop.test/cart",
    )
    assert (given.body["customer_email"], given.body["cancel_url"]) == (
        "buyer@shop.test",
        "https://shop.test/cart",
    )


async def test_payment_intent_data_reaches_the_sessions_payment_intent(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's `payment_intent_data` (its description, metadata, receipt_email and
    transfer_group), which Stripe's Checkout guides pass for the payment's own records, is
    given to the intent the session creates; it was refused as an unknown parameter."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    data = (
        "&payment_intent_data[description]=Order 42"
        "&payment_intent_data[metadata][order]=42"
        "&payment_intent_data[receipt_email]=buyer%40shop.test"
        "&payment_intent_data[transfer_group]=order_42"
    )
    created = await call(http, "POST", "/v1/checkout/sessions", key=key, form=f"{BASE}{data}")
    assert created.status == 200, created.body
    session = created.body
    intent = await call(http, "GET", f"/v1/payment_intents/{session['payment_intent']}", key=key)
    assert intent.status == 200, intent.body
    assert {
        name: intent.body[name]
        for name in ("description", "metadata", "receipt_email", "transfer_group", "amount")
    } == {
        "description": "Order 42",
        "metadata": {"order": "42", "checkout_session": session["id"]},
        "receipt_email": "buyer@shop.test",
        "transfer_group": "order_42",
        "amount": 1500,
    }

    for form, param in [
        ("&payment_intent_data[receipt_email]=nobody", "payment_intent_data[receipt_email]"),
        (
            "&payment_intent_data[metadata][checkout_session]=cs_mine",
            "payment_intent_data[metadata][checkout_session]",
        ),
        (
            "&description=A&payment_intent_data[description]=B",
            "payment_intent_data[description]",
        ),
        ("&payment_intent_data[capture_method]=manual", "payment_intent_data[capture_method]"),
    ]:
        refused = await call(http, "POST", "/v1/checkout/sessions", key=key, form=f"{BASE}{form}")
        assert refused.status == 400, (form, refused.body)
        assert refused.error["param"] == param, (form, refused.body)
    listed = await call(http, "GET", "/v1/checkout/sessions", key=key)
    assert len(listed.body["data"]) == 1


async def test_a_line_without_its_unit_amount_is_missing_it_and_a_zero_one_is_invalid(
    http: ClientSession, settings_admin_token: str
) -> None:
    """A required parameter left out is parameter_missing naming it (deploy/edge.md), a 0
    given parameter_invalid; a line's unit_amount left out read as 0 ("must be at least 1")."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    urls = "success_url=https://shop.test/ok"
    data = "line_items[0][price_data]"
    for form, code, param in [
        ("line_items[0][name]=Pin", "parameter_missing", "line_items[0][unit_amount]"),
        (
            "line_items[0][name]=Pin&line_items[0][unit_amount]=0",
            "parameter_invalid",
            "line_items[0][unit_amount]",
        ),
        (
            f"{data}[currency]=usd&{data}[product_data][name]=Pin",
            "parameter_missing",
            f"{data}[unit_amount]",
        ),
        (
            f"{data}[currency]=usd&{data}[product_data][name]=Pin&{data}[unit_amount]=0",
            "parameter_invalid",
            f"{data}[unit_amount]",
        ),
    ]:
        refused = await call(
            http, "POST", "/v1/checkout/sessions", key=key, form=f"currency=usd&{form}&{urls}"
        )
        assert refused.status == 400, (form, refused.body)
        assert (refused.error["code"], refused.error["param"]) == (code, param), form


async def test_sessions_list_by_customer_and_by_the_buyers_email(
    http: ClientSession, settings_admin_token: str
) -> None:
    """Stripe's list filters `customer` and `customer_details[email]`: a merchant finds a
    customer's sessions, and a guest's by the email it gave (`customer_email`); both were
    refused as unknown parameters. A customer the merchant lacks is resource_missing."""
    key = (await new_merchant(http, settings_admin_token))["secret_key"]
    customer = await call(http, "POST", "/v1/customers", key=key, form="email=kim%40shop.test")
    assert customer.status == 200, customer.body
    cus = customer.body["id"]
    mine = await call(http, "POST", "/v1/checkout/sessions", key=key, form=f"{BASE}&customer={cus}")
    guest = await call(
        http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form=f"{BASE}&customer_email=Ann%40shop.test",
    )
    other = await call(
        http, "POST", "/v1/checkout/sessions", key=key, form=f"{BASE}&customer_email=bo%40shop.test"
    )
    assert {mine.status, guest.status, other.status} == {200}

    by_customer = await call(http, "GET", f"/v1/checkout/sessions?customer={cus}", key=key)
    assert by_customer.status == 200, by_customer.body
    assert [session["id"] for session in by_customer.body["data"]] == [mine.body["id"]]
    by_email = await call(
        http, "GET", "/v1/checkout/sessions?customer_details[email]=ann%40shop.test", key=key
    )
    assert by_email.status == 200, by_email.body
    assert [session["id"] for session in by_email.body["data"]] == [guest.body["id"]]

    unknown = "cus_" + "0" * 22
    missing = await call(http, "GET", f"/v1/checkout/sessions?customer={unknown}", key=key)
    assert (missing.status, missing.error["code"], missing.error["param"]) == (
        400,
        "resource_missing",
        "customer",
    )
    bad = await call(http, "GET", "/v1/checkout/sessions?customer_details[email]=nobody", key=key)
    assert (bad.status, bad.error["param"]) == (400, "customer_details[email]")
