"""A converted destination charge's refund reverses the transfer and refunds the application
fee at the charge's locked rate (docs/currencies.md, "Sellers"), where both flags were refused
(INVALID_ARGUMENT naming the flag): the share and the fee were booked in the settlement
currency, so their parts are too.

JPY 10,000 at 0.008 to a merchant settling in USD, application fee JPY 1,000: 8,000 cents,
the fee 256 + 80, the seller's share 8,000 - 800 = 7,200, the merchant keeps 464. A refund of
JPY 1,000 (the rate unchanged): the merchant's refund 800 cents; reverse_transfer takes JPY
1,000 at 0.008 = 800 cents back from the seller; refund_application_fee gives it the fee's
share, JPY 100 = 80 cents."""

from __future__ import annotations

from pathlib import Path

import pytest
from paycore.v1 import payment_pb2

from tests.currency.support import import_ecb, settle_in
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

RATES = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"


async def usd_held(shop: PayoutShop, account: str = "") -> int:
    """Available and pending (a fee given back is due at once: it may be available by now)."""
    available, pending = await shop.balance(account)
    return available.get("usd", 0) + pending.get("usd", 0)


@pytest.mark.parametrize(
    ("flag", "seller_after", "merchant_after"),
    [("reverse_transfer", 7_200 - 800, 464 - 800 + 800), ("refund_application_fee", 7_280, -416)],
)
async def test_a_converted_destination_charges_refund_reverses_at_the_locked_rate(
    fx_world: World, tmp_path: Path, flag: str, seller_after: int, merchant_after: int
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
    assert (await shop.balance(seller))[1] == {"usd": 7_200}
    assert (await shop.balance())[1] == {"usd": 464}
    request = payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=1_000)
    setattr(request, flag, True)

    refund = await shop.client.payments.CreateRefund(request)

    assert refund.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert (refund.amount, refund.currency) == (1_000, "jpy")
    assert await usd_held(shop, seller) == seller_after
    assert await usd_held(shop) == merchant_after
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)
        await shop.assert_identity("", currency)
        await shop.assert_identity(seller, currency)
