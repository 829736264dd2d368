"""CreateRefund's reverse_transfer and refund_application_fee over the REST edge, with Stripe's
form body and with JSON (docs/payments.md, "Refunds of destination charges")."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, new_merchant, seller_account
from tests.payment.shop import PayIn, assert_books_balance


async def test_a_destination_charge_refunded_with_its_transfer_and_fee_over_http(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    merchant = await new_merchant(http, payin.admin_token)
    key = merchant["secret_key"]
    seller = await seller_account(http, key)
    charged = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=1000&currency=usd&transfer_data[destination]={seller}"
        "&application_fee_amount=300&payment_method=pm_card_mastercard&confirm=true",
    )
    assert charged.body["status"] == "succeeded", charged.body
    intent = charged.body["id"]

    part = await call(
        http,
        "POST",
        "/v1/refunds",
        key=key,
        form=f"payment_intent={intent}&amount=400&reverse_transfer=true"
        "&refund_application_fee=true",
    )
    rest = await call(
        http,
        "POST",
        "/v1/refunds",
        key=key,
        json_body={
            "payment_intent": intent,
            "reverse_transfer": True,
            "refund_application_fee": True,
        },
    )

    assert part.status == 200, part.body
    assert part.body["transfer_reversal"] == {"amount": 400, "currency": "usd"}
    assert part.body["application_fee_refund"] == {"amount": 120, "currency": "usd"}
    assert rest.status == 200, rest.body
    assert rest.body["transfer_reversal"] == {"amount": 600, "currency": "usd"}
    assert rest.body["application_fee_refund"] == {"amount": 180, "currency": "usd"}
    balance = await call(http, "GET", f"/v1/balance?account={seller}", key=key)
    assert balance.status == 200, balance.body
    assert (
        sum(money["amount"] for money in balance.body["pending"])
        + sum(money["amount"] for money in balance.body["available"])
        == 0
    )
    await assert_books_balance(payin.admin, merchant["id"])


async def test_a_flag_on_a_charge_without_a_transfer_is_refused_naming_it_over_http(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    charged = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form="amount=1000&currency=usd&payment_method=pm_card_mastercard&confirm=true",
    )
    assert charged.body["status"] == "succeeded", charged.body

    refused = await call(
        http,
        "POST",
        "/v1/refunds",
        key=key,
        json_body={"payment_intent": charged.body["id"], "refund_application_fee": True},
    )

    assert refused.status == 400, refused.body
    assert refused.body["error"]["param"] == "refund_application_fee"
