"""PaymentService and ExecutorService over the REST edge, end to end: an edge in front of a
pay-in server wired to the PSP simulator, with Stripe's form bodies and JSON."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.tools.psp import cards

from tests.edge.helpers import call, card_method, new_merchant, seller_account
from tests.payment.shop import PayIn, assert_books_balance, good_card


async def test_intents_capture_cancel_and_refunds_over_http(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]

    created = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        headers={"Idempotency-Key": "http-intent-1"},
        form=f"amount=1500&currency=usd&capture_method=manual&payment_method="
        f"{await card_method(http, key, good_card())}&metadata[order]=42",
    )
    assert created.status == 200, created.body
    intent = created.body
    assert intent["status"] == "requires_confirmation"
    assert intent["amount"] == 1500  # a JSON number, as Stripe writes amounts

    confirmed = await call(http, "POST", f"/v1/payment_intents/{intent['id']}/confirm", key=key)
    assert confirmed.body["status"] == "requires_capture", confirmed.body
    captured = await call(
        http,
        "POST",
        f"/v1/payment_intents/{intent['id']}/capture",
        key=key,
        form="amount_to_capture=1000",
    )
    assert captured.body["status"] == "succeeded", captured.body
    assert captured.body["amount_received"] == 1000

    refund = await call(
        http,
        "POST",
        "/v1/refunds",
        key=key,
        json_body={"payment_intent": intent["id"], "amount": 400},
    )
    assert refund.status == 200 and refund.body["status"] == "succeeded", refund.body
    assert refund.body["failure_reason"] is None  # Stripe's null for a refund that did not fail
    too_much = await call(
        http, "POST", "/v1/refunds", key=key, form=f"payment_intent={intent['id']}&amount=601"
    )
    assert too_much.status == 400
    assert too_much.body["error"]["code"] == "refund_exceeds_captured"
    assert too_much.body["error"]["param"] == "amount"
    read_refund = await call(http, "GET", f"/v1/refunds/{refund.body['id']}", key=key)
    assert read_refund.body == refund.body
    refunds = await call(http, "GET", f"/v1/refunds?payment_intent={intent['id']}", key=key)
    assert [found["id"] for found in refunds.body["data"]] == [refund.body["id"]]

    other = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=700&currency=usd&capture_method=manual&confirm=true&payment_method="
        f"{await card_method(http, key, good_card())}",
    )
    canceled = await call(http, "POST", f"/v1/payment_intents/{other.body['id']}/cancel", key=key)
    assert canceled.body["status"] == "canceled", canceled.body

    read = await call(http, "GET", f"/v1/payment_intents/{intent['id']}", key=key)
    assert read.body["amount_refunded"] == 400
    listed = await call(http, "GET", "/v1/payment_intents?limit=1", key=key)
    assert [found["id"] for found in listed.body["data"]] == [other.body["id"]]
    assert listed.body["has_more"] is True


async def test_an_intent_updated_over_http_then_charged_to_a_destination(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """POST /v1/payment_intents/{id} (Stripe's update) with Stripe's form encoding, and
    transfer_data[destination] on create."""
    http = payin_http
    merchant = await new_merchant(http, payin.admin_token)
    key = merchant["secret_key"]
    seller = await seller_account(http, key)
    created = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=1500&currency=usd&transfer_data[destination]={seller}"
        "&metadata[order]=42&metadata[coupon]=SPRING",
    )
    assert created.status == 200, created.body
    intent_url = f"/v1/payment_intents/{created.body['id']}"
    assert created.body["transfer_data"] == {"destination": seller}
    assert created.body["transfer_destination"] == seller

    update = "amount=1800&metadata[coupon]=&payment_method=pm_card_mastercard&description=Mugs"
    key_header = {"Idempotency-Key": "http-update-1"}
    updated = await call(http, "POST", intent_url, key=key, headers=key_header, form=update)
    assert updated.status == 200, updated.body
    assert updated.body["status"] == "requires_confirmation"
    assert (updated.body["amount"], updated.body["description"]) == (1800, "Mugs")
    assert updated.body["metadata"] == {"order": "42"}
    again = await call(http, "POST", intent_url, key=key, headers=key_header, form=update)
    assert again.body == updated.body
    unknown = await call(http, "POST", intent_url, key=key, json_body={"ammount": 5})
    assert (unknown.status, unknown.body["error"]["param"]) == (400, "ammount")

    confirmed = await call(http, "POST", f"{intent_url}/confirm", key=key)
    assert confirmed.body["status"] == "succeeded", confirmed.body
    assert confirmed.body["amount_received"] == 1800
    late = await call(http, "POST", intent_url, key=key, json_body={"amount": 1900})
    assert late.status == 400
    assert late.body["error"]["code"] == "payment_intent_unexpected_state"
    tagged = await call(http, "POST", intent_url, key=key, json_body={"description": "late"})
    assert (tagged.status, tagged.body["description"]) == (200, "late")
    assert tagged.body["amount_received"] == 1800
    await assert_books_balance(payin.admin, merchant["id"])


async def test_checkouts_and_the_executor_over_http(
    payin_http: ClientSession, payin: PayIn
) -> None:
    http = payin_http
    merchant = await new_merchant(http, payin.admin_token)
    key = merchant["secret_key"]
    seller = await seller_account(http, key)

    payment = await call(
        http,
        "POST",
        "/v1/payments",
        key=key,
        json_body={
            "checkout_id": "http-cart",
            "payment_method": await card_method(http, key, cards.CARD_PSP_ERROR),
            "payment_orders": [
                {
                    "payment_order_id": "http-order",
                    "seller_account": seller,
                    "amount": "900",
                    "currency": "usd",
                }
            ],
        },
    )
    assert payment.status == 200, payment.body
    assert payment.body["status"] == "processing"  # the PSP keeps failing: retries pending
    (order,) = payment.body["payment_orders"]
    # nothing failed (yet): null, as a charge's, refund's and payout's failure fields are
    assert (payment.body["failure_code"], payment.body["failure_message"]) == (None, None)
    assert (order["failure_code"], order["decline_code"], order["failure_message"]) == (
        None,
        None,
        None,
    )
    assert (await call(http, "GET", f"/v1/payments/{payment.body['id']}", key=key)).body[
        "checkout_id"
    ] == "http-cart"
    listed = await call(http, "GET", "/v1/payments?checkout_id=http-cart", key=key)
    assert [found["id"] for found in listed.body["data"]] == [payment.body["id"]]
    read_order = await call(http, "GET", f"/v1/payment_orders/{order['id']}", key=key)
    assert read_order.body["payment_order_id"] == "http-order"

    admin = {"Authorization": f"Bearer {payin.admin_token}", "Paycore-Merchant": merchant["id"]}
    executions = await call(
        http, "GET", f"/v1/executor/executions?payment_order={order['id']}", headers=admin
    )
    assert executions.status == 200, executions.body
    (execution,) = executions.body["data"]
    ran = await call(
        http,
        "POST",
        "/v1/executor/executions",
        headers=admin,
        json_body={"merchant": merchant["id"], "payment_order": order["id"]},
    )
    assert ran.status == 200, ran.body
    read = await call(http, "GET", f"/v1/executor/executions/{execution['id']}", headers=admin)
    assert read.body["id"] == execution["id"]
    assert read.body["attempts"][0]["error_code"] == "psp_error"
    dead = await call(
        http, "GET", f"/v1/executor/dead_letters?merchant={merchant['id']}", headers=admin
    )
    assert dead.status == 200, dead.body
    # Three failed attempts (PAYCORE_EXECUTOR_MAX_ATTEMPTS here) dead-lettered it.
    assert [found["id"] for found in dead.body["data"]] == [execution["id"]]
    requeued = await call(
        http, "POST", f"/v1/executor/dead_letters/{execution['id']}/requeue", headers=admin
    )
    assert requeued.status == 200, requeued.body
    assert len(requeued.body["attempts"]) >= 3
    merchant_key = await call(http, "GET", "/v1/executor/executions", key=key)
    assert merchant_key.status == 403


async def test_a_payment_order_id_refused_names_its_order(
    payin_http: ClientSession, payin: PayIn
) -> None:
    """A payment_order_id repeated in the request, or taken by an earlier payment, is refused
    naming the order it is in, payment_orders[i].payment_order_id, as every other order field
    is named."""
    http = payin_http
    key = (await new_merchant(http, payin.admin_token))["secret_key"]
    seller = await seller_account(http, key)

    def body(checkout_id: str, *order_ids: str) -> dict[str, object]:
        return {
            "checkout_id": checkout_id,
            "payment_method": "pm_card_visa",
            "payment_orders": [
                {
                    "payment_order_id": order_id,
                    "seller_account": seller,
                    "amount": 900,
                    "currency": "usd",
                }
                for order_id in order_ids
            ],
        }

    repeated = await call(
        http, "POST", "/v1/payments", key=key, json_body=body("cart-1", "a", "b", "a")
    )
    assert repeated.status == 400, repeated.body
    assert repeated.error["param"] == "payment_orders[2][payment_order_id]"

    first = await call(http, "POST", "/v1/payments", key=key, json_body=body("cart-2", "b"))
    assert first.status == 200, first.body
    taken = await call(http, "POST", "/v1/payments", key=key, json_body=body("cart-3", "c", "b"))
    assert taken.status == 409, taken.body
    assert (taken.error["code"], taken.error["param"]) == (
        "payment_order_id_exists",
        "payment_orders[1][payment_order_id]",
    )
