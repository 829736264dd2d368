"""Stripe's payout `destination` expands to the external account it was sent to: a
`bank_account`, or for a debit card a `card` (its last4, brand, currency at the top). paycore
expanded a card destination by its `pm_` prefix into the payment method (`object:
payment_method`, the card's fields nested under `card`), so a receiver reading
`payout.destination.object == "card"` or `.last4` after `expand[]=destination` missed it."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, card_method, new_merchant
from tests.edge.test_payouts import available_funds, bank_account
from tests.payout.support import PAID, World


async def test_a_payout_to_a_debit_card_expands_its_destination_to_the_card(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await available_funds(http, key)
    account = await bank_account(http, key, PAID)
    own = await card_method(http, key, "4000056655665556")
    registered = await call(http, "POST", "/v1/payout_cards", key=key, form=f"payment_method={own}")
    assert registered.status == 200, registered.body
    to_card = await call(
        http,
        "POST",
        "/v1/payouts",
        key=key,
        form=f"amount=1000&currency=usd&method=instant&destination={own}",
    )
    to_bank = await call(http, "POST", "/v1/payouts", key=key, form="amount=500&currency=usd")
    assert to_card.status == to_bank.status == 200, (to_card.body, to_bank.body)

    read = await call(
        http, "GET", f"/v1/payouts/{to_card.body['id']}?expand[]=destination", key=key
    )
    assert read.status == 200, read.body
    assert read.body["destination"] == registered.body  # the card, as GET /v1/payout_cards/{id}
    assert (read.body["destination"]["object"], read.body["destination"]["last4"]) == (
        "card",
        "5556",
    )
    listed = await call(http, "GET", "/v1/payouts?expand[]=data.destination", key=key)
    assert listed.status == 200, listed.body
    assert {each["id"]: each["destination"]["object"] for each in listed.body["data"]} == {
        to_card.body["id"]: "card",
        to_bank.body["id"]: "bank_account",
    }
    assert [
        each["destination"]["id"]
        for each in listed.body["data"]
        if each["id"] == to_bank.body["id"]
    ] == [account["id"]]
    # A payment method's own expansions are unchanged: it is still a payment method there.
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=700&currency=usd&payment_method=pm_card_visa&expand[]=payment_method",
    )
    assert intent.status == 200, intent.body
    assert intent.body["payment_method"]["object"] == "payment_method"
