"""Payments made of several payment orders for several sellers (the chapter's checkout)."""

from __future__ import annotations

import secrets

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, event_pb2, executor_pb2, fraud_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop, fee, good_card

Order = payment_pb2.CreatePaymentRequest.PaymentOrder


async def _checkout(
    shop: Shop, number: str, orders: list[Order], checkout_id: str = "cart-1"
) -> payment_pb2.Payment:
    return await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id=checkout_id,
            payment_method=await shop.card(number),
            buyer_info=payment_pb2.BuyerInfo(
                email="buyer@example.com", ip=f"198.51.100.{secrets.randbelow(250) + 1}"
            ),
            payment_orders=orders,
        )
    )


async def test_a_checkout_pays_each_seller_their_net(shop: Shop) -> None:
    alice, bob = await shop.seller("Alice"), await shop.seller("Bob")

    payment = await _checkout(
        shop,
        good_card(),
        [
            Order(payment_order_id="o-alice", seller_account=alice, amount=2500, currency="usd"),
            Order(payment_order_id="o-bob", seller_account=bob, amount=1000, currency="usd"),
        ],
    )

    assert payment.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    assert {order.payment_order_id: order.status for order in payment.payment_orders} == {
        "o-alice": payment_pb2.PAYMENT_ORDER_STATUS_SUCCEEDED,
        "o-bob": payment_pb2.PAYMENT_ORDER_STATUS_SUCCEEDED,
    }
    assert all(order.psp_reference for order in payment.payment_orders)
    assert (await shop.balance(alice))[1] == {"usd": 2500 - fee(2500)}
    assert (await shop.balance(bob))[1] == {"usd": 1000 - fee(1000)}
    fetched = await shop.client.payments.GetPayment(payment_pb2.GetPaymentRequest(id=payment.id))
    assert fetched == payment
    recorded = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=20))
    assert sorted(event.type for event in recorded.data) == sorted(
        ["payment.created", "payment.succeeded"]
        + ["payment_order.created", "payment_order.executing", "payment_order.succeeded"] * 2
    )
    await shop.assert_books_balance()


async def test_a_declined_card_fails_every_order_and_moves_no_money(shop: Shop) -> None:
    alice = await shop.seller("Alice")

    payment = await _checkout(
        shop,
        cards.CARD_INSUFFICIENT_FUNDS,
        [Order(payment_order_id="o-1", seller_account=alice, amount=900, currency="usd")],
    )

    assert payment.status == payment_pb2.PAYMENT_STATUS_FAILED
    (order,) = payment.payment_orders
    assert (order.failure_code, order.decline_code) == ("CARD_DECLINED", "insufficient_funds")
    assert (await shop.balance(alice))[1] in ({}, {"usd": 0})
    await shop.assert_books_balance()


async def test_a_checkout_id_is_used_once(shop: Shop) -> None:
    alice = await shop.seller("Alice")
    orders = [Order(payment_order_id="o-1", seller_account=alice, amount=900, currency="usd")]
    first = await _checkout(shop, good_card(), orders, checkout_id="cart-9")
    assert first.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED, first

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        first = await _checkout(shop, good_card(), orders, checkout_id="cart-9")
    assert first.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED, first

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert rich_error(raised.value).reason == "CHECKOUT_EXISTS"
    assert (await shop.balance(alice))[1] == {"usd": 900 - fee(900)}


async def test_a_blocked_checkout_fails_as_fraud_and_never_reaches_the_psp(shop: Shop) -> None:
    alice = await shop.seller("Alice")
    method = await shop.card(good_card())
    fingerprint = (
        await shop.client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=method)
        )
    ).card.fingerprint
    await shop.operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_CARD_FINGERPRINT,
            value=fingerprint,
            merchant=shop.id,
            reason="stolen",
        )
    )

    payment = await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id="cart-blocked",
            payment_method=method,
            payment_orders=[
                Order(payment_order_id="o-b", seller_account=alice, amount=900, currency="usd")
            ],
        )
    )

    assert payment.status == payment_pb2.PAYMENT_STATUS_FAILED
    assert payment.failure_code == "FRAUD_SUSPECTED"
    assert payment.risk_assessment.decision == fraud_pb2.RISK_DECISION_BLOCK
    (order,) = payment.payment_orders
    assert order.psp_reference == ""
    executions = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_order=order.id)
    )
    assert list(executions.data) == []
    await shop.assert_books_balance()
