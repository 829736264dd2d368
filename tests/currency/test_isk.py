"""ISK amounts are Stripe's: the API keeps two decimals for the króna (an `amount` of 100 is
1 króna) and takes only whole krónur (multiples of 100), as Stripe's ISK special case; they
were taken as whole krónur (ISO's exponent 0) that had to be multiples of 100, so a Stripe
integration's amount=149000 (1,490 kr) was charged as 149,000 kr and a price of 1,490 kr
(amount=1490) could not be charged at all."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc import aio
from paycore.v1 import payment_pb2, wallet_pb2

from tests.currency.support import import_ecb, settle_in
from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import World

# EUR = 1.2000 USD = 150.0 ISK: one króna is 0.008 USD.
RATES = "Date, USD, ISK,\n07 December 2026, 1.2000, 150.0,\n"


async def test_an_isk_amount_of_100_is_one_krona(fx_world: World, tmp_path: Path) -> None:
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    intent = await shop.charge(149_000, "isk")  # 1,490 kr
    [row] = [t for t in await shop.transactions() if t.source == intent.id]
    assert row.type == wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYMENT
    # 1,490 kr x 0.008 = 11.92 USD.
    assert (row.amount, row.currency, row.presentment_amount) == (1_192, "usd", 149_000)
    # A fraction of a króna is refused, naming the amount.
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=149_050, currency="isk", payment_method=await shop.card(good_card()), confirm=True
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.payments.CreatePaymentIntent(request)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "AMOUNT_NOT_ALLOWED",
        "amount",
    )
