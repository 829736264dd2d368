"""Stale rates, unsupported pairs and amounts that break a currency's rule are each a named
error naming the field, and change nothing (issue 19)."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import grpc
import pytest
from grpc import aio
from paycore.v1 import currency_pb2, payment_pb2, payout_pb2

from tests.currency.support import authorize, capture, import_ecb, rate, settle_in
from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

C = currency_pb2
RATES = "Date, USD, JPY, ISK, KWD,\n07 December 2026, 1.2000, 150.00, 150.0, 0.3700,\n"
INVALID = grpc.StatusCode.INVALID_ARGUMENT
FAILED = grpc.StatusCode.FAILED_PRECONDITION


async def _refused(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, str | None]:
    with pytest.raises(aio.AioRpcError) as raised:
        await call
    error = rich_error(raised.value)
    return error.code, error.reason, error.param


async def _state(shop: PayoutShop) -> tuple[object, ...]:
    intents = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(limit=100)
    )
    return (
        await shop.balance(),
        [intent.SerializeToString() for intent in intents.data],
        [row.SerializeToString() for row in await shop.transactions()],
    )


async def _intent(shop: PayoutShop, amount: int, currency: str) -> Awaitable[object]:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=amount,
        currency=currency,
        payment_method=await shop.card(good_card()),
        confirm=True,
    )
    return shop.client.payments.CreatePaymentIntent(request)


async def test_amounts_that_break_a_currency_rule_are_refused(fx_world: World) -> None:
    world = fx_world
    shop = await world.shop()  # no FX setup: the rules hold for every merchant
    before = await _state(shop)
    cases = {
        (1_005, "kwd"): (INVALID, "AMOUNT_NOT_ALLOWED", "amount"),  # 3 decimals: last digit 0
        (25_050, "isk"): (INVALID, "AMOUNT_NOT_ALLOWED", "amount"),  # whole krónur
        (30, "usd"): (INVALID, "AMOUNT_TOO_SMALL", "amount"),  # least charge 50 cents
        (40, "jpy"): (INVALID, "AMOUNT_TOO_SMALL", "amount"),
        (190, "kwd"): (INVALID, "AMOUNT_TOO_SMALL", "amount"),
    }
    for (amount, currency), expected in cases.items():
        assert await _refused(await _intent(shop, amount, currency)) == expected, currency
    assert await _state(shop) == before
    # What the rules allow goes through.
    for amount, currency in ((1_010, "kwd"), (30_000, "isk"), (2_000, "usd")):
        await shop.charge(amount, currency)
    # A partial capture: a part the currency allows.
    authorized = await authorize(shop, 2_000, "kwd")
    part = payment_pb2.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=1_005)
    assert await _refused(shop.client.payments.CapturePaymentIntent(part)) == (
        INVALID,
        "AMOUNT_NOT_ALLOWED",
        "amount_to_capture",
    )
    still = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=authorized.id)
    )
    assert still.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE
    await capture(shop, authorized.id, 1_010)
    # Payouts: HUF and TWD in whole hundreds (checked before the balance).
    payout = payout_pb2.CreatePayoutRequest(amount=12_345, currency="huf")
    assert await _refused(shop.client.payouts.CreatePayout(payout)) == (
        INVALID,
        "AMOUNT_NOT_ALLOWED",
        "amount",
    )


async def test_unsupported_pairs_and_stale_rates_are_refused(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    before = await _state(shop)
    # No BHD rate at all.
    assert await _refused(await _intent(shop, 1_000, "bhd")) == (
        INVALID,
        "CURRENCY_PAIR_UNSUPPORTED",
        "currency",
    )
    assert await _state(shop) == before
    converted = await shop.charge(10_000, "jpy")
    await shop.charge(1_000, "usd")  # its own settlement currency: never converted
    before = await _state(shop)

    world.clock.advance(86_400 + 3_600)  # older than PAYCORE_FX_RATE_MAX_AGE_SECONDS (a day)
    shown = await rate(shop, "jpy", "usd")
    assert shown.stale and shown.age_seconds > 86_400
    assert await _refused(await _intent(shop, 10_000, "jpy")) == (
        FAILED,
        "EXCHANGE_RATE_STALE",
        "currency",
    )
    refund = payment_pb2.CreateRefundRequest(payment_intent=converted.id, amount=1_000)
    assert await _refused(shop.client.payments.CreateRefund(refund)) == (
        FAILED,
        "EXCHANGE_RATE_STALE",
        "amount",
    )
    # A refund of everything names no amount: the refusal names the field the charge was
    # named by (as CHARGE_ALREADY_REFUNDED does).
    whole = payment_pb2.CreateRefundRequest(payment_intent=converted.id)
    assert await _refused(shop.client.payments.CreateRefund(whole)) == (
        FAILED,
        "EXCHANGE_RATE_STALE",
        "payment_intent",
    )
    by_charge = payment_pb2.CreateRefundRequest(charge=converted.latest_charge)
    assert await _refused(shop.client.payments.CreateRefund(by_charge)) == (
        FAILED,
        "EXCHANGE_RATE_STALE",
        "charge",
    )
    assert await _state(shop) == before
    # A charge in the settlement currency needs no rate.
    await shop.charge(1_000, "usd")
    # Rates for today make conversion possible again.
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES.replace("07 December", "08 December"))
    await shop.charge(10_000, "jpy")
    await shop.assert_books_balance("usd")
    await shop.assert_books_balance("jpy")


async def test_settlement_currencies_are_checked_and_read_back(fx_world: World) -> None:
    world = fx_world
    shop = await world.shop()
    update = shop.client.currencies.UpdateSettlementCurrencies
    get = C.GetSettlementCurrenciesRequest()
    assert list((await shop.client.currencies.GetSettlementCurrencies(get)).currencies) == []
    for request, param in (
        (C.UpdateSettlementCurrenciesRequest(currencies=["usd", "usd"]), "currencies"),
        (C.UpdateSettlementCurrenciesRequest(currencies=["usd", "zzz"]), "currencies[1]"),
        (C.UpdateSettlementCurrenciesRequest(account="acct_nothing"), "account"),
    ):
        code, _, named = await _refused(update(request))
        assert (code, named) == (INVALID, param)
    assert list((await shop.client.currencies.GetSettlementCurrencies(get)).currencies) == []
    await settle_in(shop, "eur", "usd")
    found = await shop.client.currencies.GetSettlementCurrencies(get)
    assert list(found.currencies) == ["eur", "usd"]


async def test_a_charge_must_convert_to_at_least_the_settlement_currencys_least_charge(
    fx_world: World, tmp_path: Path
) -> None:
    """As Stripe's "Amount must convert to at least 50 cents": a charge converted into a
    settlement currency is refused (AMOUNT_TOO_SMALL naming the amount, nothing changes) when
    what it converts to is below that currency's least charge, though the presentment
    currency's own least charge is met."""
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)  # JPY -> USD 0.008
    before = await _state(shop)
    # ¥60 is JPY's least charge and more, but converts to 48 US cents (USD's least is 50).
    code, reason, param = await _refused(await _intent(shop, 60, "jpy"))
    assert (code, reason, param) == (INVALID, "AMOUNT_TOO_SMALL", "amount")
    order = payment_pb2.CreatePaymentRequest.PaymentOrder
    seller = await shop.seller()
    await settle_in(shop, "usd", account=seller)
    payment = payment_pb2.CreatePaymentRequest(
        checkout_id="cart-small",
        payment_method=await shop.card(good_card()),
        payment_orders=[
            order(payment_order_id="o-1", seller_account=seller, amount=10_000, currency="jpy"),
            order(payment_order_id="o-2", seller_account=seller, amount=60, currency="jpy"),
        ],
    )
    assert await _refused(shop.client.payments.CreatePayment(payment)) == (
        INVALID,
        "AMOUNT_TOO_SMALL",
        "payment_orders[1].amount",
    )
    assert await _state(shop) == before
    # ¥63 converts to 50.4 cents: taken, and 50 cents booked.
    intent = await shop.charge(63, "jpy")
    [row] = [t for t in await shop.transactions() if t.source == intent.id]
    assert (row.amount, row.currency) == (50, "usd")
    # Unconverted, ¥60 is a charge like any other.
    await settle_in(shop)
    await shop.charge(60, "jpy")
