"""A retry with the same idempotency key replays its first answer even once the exchange rate it
converted with has gone stale (the checks that read a rate run after the key's lookup); a new
key is refused EXCHANGE_RATE_STALE naming the field, before anything changes and without
taking the key, which works once the rates are fresh again (docs/currencies.md, "The order of
the checks")."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from pathlib import Path

import grpc
import pytest
from grpc import aio
from paycore.v1 import account_pb2, payment_pb2

from tests.checkout.test_sessions import session_request
from tests.currency.support import authorize, import_ecb, rate, settle_in
from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
FRESH_AGAIN = RATES.replace("07 December", "08 December")
STALE = 86_400 + 3_600  # older than PAYCORE_FX_RATE_MAX_AGE_SECONDS (a day)


def _key(name: str) -> tuple[tuple[str, str]]:
    return (("idempotency-key", name),)


async def _stale_refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, str | None]:
    with pytest.raises(aio.AioRpcError) as raised:
        await call
    error = rich_error(raised.value)
    return error.code, error.reason, error.param


async def _state(shop: PayoutShop) -> tuple[object, ...]:
    """Everything a request could change: the balances, the intents, the payments, the balance
    transactions."""
    payments = shop.client.payments
    intents = await payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest(limit=100))
    paid = await payments.ListPayments(payment_pb2.ListPaymentsRequest(limit=100))
    return (
        await shop.balance(),
        [intent.SerializeToString() for intent in intents.data],
        [payment.SerializeToString() for payment in paid.data],
        [row.SerializeToString() for row in await shop.transactions()],
    )


async def _converting(world: World, tmp_path: Path) -> PayoutShop:
    """A merchant that settles in USD, with today's ECB rates."""
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd")
    return shop


async def _go_stale(world: World, shop: PayoutShop) -> None:
    world.clock.advance(STALE)
    assert (await rate(shop, "jpy", "usd")).stale


async def test_a_converted_payment_intent_is_replayed_once_its_rate_is_stale(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await _converting(world, tmp_path)
    create = shop.client.payments.CreatePaymentIntent
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=10_000, currency="jpy", payment_method=await shop.card(good_card()), confirm=True
    )
    first = await create(request, metadata=_key("pi-converted"))
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await _go_stale(world, shop)
    before = await _state(shop)

    assert await create(request, metadata=_key("pi-converted")) == first  # its first answer
    assert await _state(shop) == before
    # A new key is a new request: refused, naming the field, and nothing changes.
    assert await _stale_refusal(create(request, metadata=_key("pi-new"))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EXCHANGE_RATE_STALE",
        "currency",
    )
    assert await _state(shop) == before
    # The refusal took nothing: the same key goes through once the rates are fresh.
    await import_ecb(world, tmp_path / "eurofxref.csv", FRESH_AGAIN)
    second = await create(request, metadata=_key("pi-new"))
    assert second.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert second.id != first.id
    assert await create(request, metadata=_key("pi-converted")) == first
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")
    await shop.close()


async def test_a_converted_checkout_is_replayed_once_its_rate_is_stale(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await _converting(world, tmp_path)
    seller = await shop.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="seller@shop.test", country="US", default_currency="usd"
        )
    )
    await settle_in(shop, "usd", account=seller.id)
    order = payment_pb2.CreatePaymentRequest.PaymentOrder
    create = shop.client.payments.CreatePayment

    async def checkout() -> payment_pb2.CreatePaymentRequest:
        return payment_pb2.CreatePaymentRequest(
            checkout_id="cart-" + secrets.token_hex(6),
            payment_method=await shop.card(good_card()),
            payment_orders=[
                order(
                    payment_order_id="o-1", seller_account=seller.id, amount=5_000, currency="jpy"
                )
            ],
        )

    request = await checkout()
    first = await create(request, metadata=_key("pay-converted"))
    assert first.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    await _go_stale(world, shop)
    before = await _state(shop)

    assert await create(request, metadata=_key("pay-converted")) == first
    assert await _state(shop) == before
    another = await checkout()
    assert await _stale_refusal(create(another, metadata=_key("pay-new"))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EXCHANGE_RATE_STALE",
        "payment_orders[0].currency",
    )
    assert await _state(shop) == before
    await shop.close()


async def test_a_refund_and_a_capture_of_converted_charges_are_replayed_once_the_rate_is_stale(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await _converting(world, tmp_path)
    payments = shop.client.payments
    charged = await shop.charge(10_000, "jpy")
    refund = payment_pb2.CreateRefundRequest(payment_intent=charged.id, amount=1_000)
    refunded = await payments.CreateRefund(refund, metadata=_key("re-converted"))
    assert refunded.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    authorized = await authorize(shop, 10_000, "jpy")
    still_held = await authorize(shop, 10_000, "jpy")
    capture = payment_pb2.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=6_000)
    captured = await payments.CapturePaymentIntent(capture, metadata=_key("capture-converted"))
    assert captured.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await _go_stale(world, shop)
    before = await _state(shop)

    assert await payments.CreateRefund(refund, metadata=_key("re-converted")) == refunded
    assert await payments.CapturePaymentIntent(capture, metadata=_key("capture-converted")) == (
        captured
    )
    assert await _state(shop) == before
    # New keys: refused, naming the field, nothing changes.
    assert await _stale_refusal(payments.CreateRefund(refund, metadata=_key("re-new"))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EXCHANGE_RATE_STALE",
        "amount",
    )
    other = payment_pb2.CapturePaymentIntentRequest(id=still_held.id)
    assert await _stale_refusal(
        payments.CapturePaymentIntent(other, metadata=_key("capture-new"))
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "EXCHANGE_RATE_STALE", "id")
    assert await _state(shop) == before
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")
    await shop.close()


async def test_a_confirmation_that_would_convert_needs_a_fresh_rate_and_is_replayed_after(
    fx_world: World, tmp_path: Path
) -> None:
    """ConfirmPaymentIntent of an automatic capture converts at once: a new confirmation is
    refused on a stale rate as a capture is (naming `id`); one that went through is replayed.
    An authorization (manual capture) converts nothing until it is captured."""
    world = fx_world
    shop = await _converting(world, tmp_path)
    payments = shop.client.payments

    async def created(manual: bool = False) -> payment_pb2.PaymentIntent:
        method = (
            payment_pb2.CAPTURE_METHOD_MANUAL if manual else payment_pb2.CAPTURE_METHOD_UNSPECIFIED
        )
        intent = await payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=10_000,
                currency="jpy",
                payment_method=await shop.card(good_card()),
                capture_method=method,
            )
        )
        assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION
        return intent

    confirmed_first, waiting, authorization = await created(), await created(), await created(True)
    confirm = payment_pb2.ConfirmPaymentIntentRequest(id=confirmed_first.id)
    first = await payments.ConfirmPaymentIntent(confirm, metadata=_key("confirm-first"))
    assert first.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await _go_stale(world, shop)
    before = await _state(shop)

    assert await payments.ConfirmPaymentIntent(confirm, metadata=_key("confirm-first")) == first
    late = payment_pb2.ConfirmPaymentIntentRequest(id=waiting.id)
    assert await _stale_refusal(
        payments.ConfirmPaymentIntent(late, metadata=_key("confirm-late"))
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "EXCHANGE_RATE_STALE", "id")
    assert await _state(shop) == before
    held = await payments.ConfirmPaymentIntent(
        payment_pb2.ConfirmPaymentIntentRequest(id=authorization.id)
    )
    assert held.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    await import_ecb(world, tmp_path / "eurofxref.csv", FRESH_AGAIN)
    confirmed = await payments.ConfirmPaymentIntent(late, metadata=_key("confirm-late"))
    assert confirmed.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")
    await shop.close()


async def test_a_converting_checkout_session_is_replayed_once_its_rate_is_stale(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await _converting(world, tmp_path)
    create = shop.client.checkout.CreateCheckoutSession
    request = session_request(currency="jpy", line_items=[], amount=10_000)
    first = await create(request, metadata=_key("cs-converted"))
    await _go_stale(world, shop)
    before = await _state(shop)

    assert await create(request, metadata=_key("cs-converted")) == first  # its first answer
    assert await _state(shop) == before
    # A new session would be paid with the stale rate: refused, naming the field.
    assert await _stale_refusal(create(request, metadata=_key("cs-new"))) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EXCHANGE_RATE_STALE",
        "currency",
    )
    assert await _state(shop) == before
    await import_ecb(world, tmp_path / "eurofxref.csv", FRESH_AGAIN)
    second = await create(request, metadata=_key("cs-new"))
    assert second.id != first.id
    await shop.close()
