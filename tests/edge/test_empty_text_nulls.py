"""Text and amounts an object has not render null at the REST edge, as Stripe renders them
(stripe-node's types: `description: string | null`, `application_fee_amount: number | null`),
so that SDK code testing `if intent.description is None` or `=== null` reads paycore's objects
as Stripe's; gRPC keeps proto3's "" and 0 (paycore.stripe_json.NULL_WHEN_EMPTY)."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant, seller_account
from tests.payment.shop import PayIn

CARD = "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034"


async def test_an_intent_and_its_charge_without_description_group_or_fee_show_null(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true",
    )
    assert created.status == 200, created.body
    intent = created.body
    assert (intent["description"], intent["transfer_group"]) == (None, None)
    assert intent["application_fee_amount"] is None
    charge = await call(payin_http, "GET", f"/v1/charges/{intent['latest_charge']}", key=key)
    assert charge.status == 200, charge.body
    assert (charge.body["description"], charge.body["transfer_group"]) == (None, None)
    assert charge.body["application_fee_amount"] is None
    assert charge.body["outcome"]["reason"] is None  # approved: no decline reason
    # The payment intent in its events carries no client_secret: null, not "".
    events = await call(payin_http, "GET", f"/v1/events?object_id={intent['id']}&limit=5", key=key)
    assert events.status == 200, events.body
    assert events.body["data"], events.body
    assert {event["data"]["object"]["client_secret"] for event in events.body["data"]} == {None}


async def test_given_text_and_a_destination_charge_fee_are_shown(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    seller = await seller_account(payin_http, key)
    created = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true"
        f"&description=Order+42&transfer_group=ORDER42&transfer_data[destination]={seller}"
        "&application_fee_amount=0",
    )
    assert created.status == 200, created.body
    intent = created.body
    assert (intent["description"], intent["transfer_group"]) == ("Order 42", "ORDER42")
    # a destination charge's fee of 0 is a fee (Stripe shows 0), not an absent one
    assert intent["application_fee_amount"] == 0
    charge = await call(payin_http, "GET", f"/v1/charges/{intent['latest_charge']}", key=key)
    assert (charge.body["description"], charge.body["transfer_group"]) == ("Order 42", "ORDER42")
    assert charge.body["application_fee_amount"] == 0


async def test_a_payment_method_without_billing_details_shows_null_details(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    created = await call(payin_http, "POST", "/v1/payment_methods", key=key, form=CARD)
    assert created.status == 200, created.body
    details = created.body["billing_details"]
    assert (details["name"], details["email"], details["phone"]) == (None, None, None)
    assert details["address"] == {
        "line1": None,
        "line2": None,
        "city": None,
        "state": None,
        "postal_code": None,
        "country": None,
    }
    given = await call(
        payin_http,
        "POST",
        "/v1/payment_methods",
        key=key,
        form=f"{CARD}&billing_details[name]=Jenny+Rosen&billing_details[address][country]=US",
    )
    assert given.status == 200, given.body
    details = given.body["billing_details"]
    assert (details["name"], details["email"]) == ("Jenny Rosen", None)
    assert (details["address"]["country"], details["address"]["line1"]) == ("US", None)


async def test_setups_endpoints_sessions_and_balance_transactions_show_null_text(
    payin_http: ClientSession, payin: PayIn
) -> None:
    key = (await new_merchant(payin_http, payin.admin_token))["secret_key"]
    setup = await call(payin_http, "POST", "/v1/setup_intents", key=key, form="usage=off_session")
    assert setup.status == 200, setup.body
    assert setup.body["description"] is None and setup.body["client_secret"]
    endpoint = await call(
        payin_http,
        "POST",
        "/v1/webhook_endpoints",
        key=key,
        form="url=https://93.184.215.14/hooks&enabled_events[]=charge.succeeded",
    )
    assert endpoint.status == 200, endpoint.body
    assert endpoint.body["description"] is None
    session = await call(
        payin_http,
        "POST",
        "/v1/checkout/sessions",
        key=key,
        form="currency=usd&line_items[0][name]=Cranes&line_items[0][unit_amount]=1250"
        "&success_url=https://shop.example.com/ok&cancel_url=https://shop.example.com/no",
    )
    assert session.status == 200, session.body
    assert session.body["customer_email"] is None
    paid = await call(
        payin_http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true",
    )
    assert paid.status == 200, paid.body
    transactions = await call(payin_http, "GET", "/v1/balance_transactions", key=key)
    assert transactions.status == 200, transactions.body
    assert [row["description"] for row in transactions.body["data"]] == [None]
