"""A converted destination charge's refund cannot reverse the transfer nor refund the
application fee (docs/currencies.md): refused naming the flag, before anything changes; the
plain refund still goes through."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from paycore.v1 import payment_pb2

from tests.currency.support import import_ecb, settle_in
from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import World

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"


@pytest.mark.parametrize("flag", ["reverse_transfer", "refund_application_fee"])
async def test_a_converted_destination_charge_refuses_the_flags(
    fx_world: World, tmp_path: Path, flag: str
) -> None:
    world = fx_world
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd")
    seller = await shop.seller()
    intent = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=10_000,
            currency="jpy",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=1_000,
        )
    )
    request = payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=1_000)
    setattr(request, flag, True)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreateRefund(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).metadata["param"] == flag
    assert (await shop.balance(seller))[1] == {"usd": 7_200}
    assert (await shop.balance())[1] == {"usd": 464}
    setattr(request, flag, False)
    refund = await shop.client.payments.CreateRefund(request)
    assert refund.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert (await shop.balance(seller))[1] == {"usd": 7_200}
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)
