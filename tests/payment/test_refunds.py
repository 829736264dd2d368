"""Refunds: partial, repeated, never more than was captured, even fifty at once."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import Shop, fee, good_card


async def _refund(shop: Shop, intent: str, amount: int | None = None) -> payment_pb2.Refund:
    request = payment_pb2.CreateRefundRequest(payment_intent=intent)
    if amount is not None:
        request.amount = amount
    return await shop.client.payments.CreateRefund(request)


async def test_partial_then_the_rest_then_nothing_more(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1000)

    first = await _refund(shop, intent.id, 300)
    rest = await _refund(shop, intent.id)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id, 1)

    assert first.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert (first.amount, rest.amount) == (300, 700)
    assert rest.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).reason == "REFUND_EXCEEDS_CAPTURED"
    refreshed = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert refreshed.amount_refunded == 1000
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert sorted(refund.amount for refund in listed.data) == [300, 700]
    # The fee stays with the platform: the merchant's balance is minus the fee.
    assert (await shop.balance())[1] == {"usd": -fee(1000)}
    await shop.assert_books_balance()


async def test_an_over_refund_is_refused_and_changes_nothing(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 500)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id, 501)

    assert rich_error(raised.value).metadata["param"] == "amount"
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert list(listed.data) == []
    assert (await shop.balance())[1] == {"usd": 500 - fee(500)}
    await shop.assert_books_balance()


async def test_an_unpaid_intent_cannot_be_refunded(shop: Shop) -> None:
    declined = await shop.pay(cards.CARD_DECLINED, 500)
    authorized = await shop.pay(good_card(), 500, manual=True)

    for intent in (declined, authorized):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _refund(shop, intent.id, 100)
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert rich_error(raised.value).reason == "CHARGE_NOT_REFUNDABLE"
    await shop.assert_books_balance()


async def test_fifty_concurrent_refunds_never_exceed_the_captured_amount(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 3000)

    outcomes = await asyncio.gather(
        *(_refund(shop, intent.id, 100) for _ in range(50)), return_exceptions=True
    )

    refunded = [outcome for outcome in outcomes if isinstance(outcome, payment_pb2.Refund)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(refunded) == 30
    assert len(refused) == 20
    assert {rich_error(error).reason for error in refused} == {"REFUND_EXCEEDS_CAPTURED"}
    assert {refund.status for refund in refunded} == {payment_pb2.REFUND_STATUS_SUCCEEDED}
    refreshed = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert refreshed.amount_refunded == 3000
    assert (await shop.balance())[1] == {"usd": -fee(3000)}
    await shop.assert_books_balance()


@pytest.mark.parametrize("field", ["payment_intent", "payment_order"])
async def test_a_malformed_charge_is_refused_naming_it_when_refunding_or_listing(
    shop: Shop, field: str
) -> None:
    create = payment_pb2.CreateRefundRequest()
    listing = payment_pb2.ListRefundsRequest()
    setattr(create, field, "pi_x")
    setattr(listing, field, "pi_x")
    payments = shop.client.payments
    for call in (payments.CreateRefund(create), payments.ListRefunds(listing)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        refused = rich_error(raised.value)
        assert (raised.value.code(), refused.reason, refused.param) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "ID_MALFORMED",
            field,
        )


async def test_refunding_the_rest_of_a_fully_refunded_intent_says_so(shop: Shop) -> None:
    """No amount means "the rest"; with nothing left the answer names the intent, not an
    amount the caller never sent (Stripe's charge_already_refunded)."""
    intent = await shop.pay(good_card(), 800)
    await _refund(shop, intent.id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id)

    error = rich_error(raised.value)
    assert (raised.value.code(), error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHARGE_ALREADY_REFUNDED",
        "payment_intent",
    )
    assert intent.id in (raised.value.details() or "")
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert [refund.amount for refund in listed.data] == [800]
    await shop.assert_books_balance()
