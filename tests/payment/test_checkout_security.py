"""Checkouts under issue 23: multi-currency scoring (item 8) and the checkout_id race (item 6)."""

from __future__ import annotations

import asyncio
import secrets

import grpc
from grpc import aio
from paycore.v1 import fraud_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop, good_card

Order = payment_pb2.CreatePaymentRequest.PaymentOrder


def _request(
    method: str, orders: list[Order], checkout_id: str
) -> payment_pb2.CreatePaymentRequest:
    return payment_pb2.CreatePaymentRequest(
        checkout_id=checkout_id,
        payment_method=method,
        buyer_info=payment_pb2.BuyerInfo(ip=f"198.51.100.{secrets.randbelow(250) + 1}"),
        payment_orders=orders,
    )


async def _attempt(
    shop: Shop, request: payment_pb2.CreatePaymentRequest
) -> payment_pb2.Payment | aio.AioRpcError:
    try:
        created: payment_pb2.Payment = await shop.client.payments.CreatePayment(request)
    except aio.AioRpcError as error:
        return error
    return created


async def test_two_large_orders_in_one_currency_are_reviewed_not_refused(shop: Shop) -> None:
    """Two valid US$600,000 orders were refused as amount_too_large: their sum was checked
    against one payment's maximum."""
    alice, bob = await shop.seller("Alice"), await shop.seller("Bob")
    orders = [
        Order(payment_order_id="big-a", seller_account=alice, amount=60_000_000, currency="usd"),
        Order(payment_order_id="big-b", seller_account=bob, amount=60_000_000, currency="usd"),
    ]
    payment = await shop.client.payments.CreatePayment(
        _request(await shop.card(good_card()), orders, "cart-big")
    )
    assert payment.risk_assessment.decision != fraud_pb2.RISK_DECISION_ALLOW
    assert "amount_limit" in payment.risk_assessment.reasons
    await shop.assert_books_balance()


async def test_a_small_yen_order_does_not_hide_a_large_dollar_one(shop: Shop) -> None:
    """A ¥1,000 first order made a $21,000 second one count as ¥2,101,000 (about $14,000),
    under the amount review."""
    alice, bob = await shop.seller("Alice"), await shop.seller("Bob")
    orders = [
        Order(payment_order_id="yen", seller_account=alice, amount=1000, currency="jpy"),
        Order(payment_order_id="usd", seller_account=bob, amount=2_100_000, currency="usd"),
    ]
    payment = await shop.client.payments.CreatePayment(
        _request(await shop.card(good_card()), orders, "cart-mixed")
    )
    assert payment.risk_assessment.decision != fraud_pb2.RISK_DECISION_ALLOW
    assert "amount_limit" in payment.risk_assessment.reasons
    await shop.assert_books_balance()


async def test_concurrent_payments_with_one_checkout_id_answer_the_winner_or_exists(
    shop: Shop,
) -> None:
    """20 concurrent payments with one checkout_id: exactly one is created; every other one
    answers CHECKOUT_EXISTS, as it would have had it come second (9 of 60 answered 500)."""
    alice = await shop.seller("Alice")
    method = await shop.card(good_card())
    for round_number in range(3):
        checkout_id = f"cart-race-{round_number}"
        requests = []
        for index in range(20):
            order = Order(
                payment_order_id=f"race-{round_number}-{index}",
                seller_account=alice,
                amount=500,
                currency="usd",
            )
            requests.append(_request(method, [order], checkout_id))
        answers = await asyncio.gather(*(_attempt(shop, request) for request in requests))
        created = [answer for answer in answers if isinstance(answer, payment_pb2.Payment)]
        errors = [rich_error(answer) for answer in answers if isinstance(answer, aio.AioRpcError)]
        assert len(created) == 1, errors
        assert {(error.code, error.reason) for error in errors} == {
            (grpc.StatusCode.ALREADY_EXISTS, "CHECKOUT_EXISTS")
        }
        listed = await shop.client.payments.ListPayments(
            payment_pb2.ListPaymentsRequest(checkout_id=checkout_id)
        )
        assert [payment.id for payment in listed.data] == [created[0].id]
    await shop.assert_books_balance()
