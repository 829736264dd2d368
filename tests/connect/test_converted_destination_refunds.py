"""A destination charge converted into the platform's settlement currency, refunded in full
with reverse_transfer and refund_application_fee, in one part or many, leaves the seller with
nothing, as Stripe's full reversal of a transfer and refund of its application fee do.

The share and the application fee were booked in the settlement currency T at the charge's
locked rate q: S = floor(P x q) credited, the fee kept half up, the share the rest. Their parts
coming back are splits of those amounts: each part moves the difference it makes to the value at
q of what is left (the presentment amount not reversed yet, rounded down as S was; the fee not
given back yet, half up as it was kept), so the parts add up to the share exactly. Before, each
part was rounded on its own (the reversal up, the fee down), so a full refund took a unit or two
more than the seller got and left it negative (docs/currencies.md, "Refunds and partial
refunds"; paycore.currency.conversion.part_of_booked).

ECB rates EUR = 1.0540 USD = 158.31 JPY: JPY -> USD 0.00665782325816 (12 significant digits).
JPY 20,000 with an application fee of JPY 2,000: S = floor(13,315.64651632) = 13,315 cents,
the fee kept round(1,331.564651632) = 1,332, the seller's share 11,983 USD (it settles in USD:
nothing crosses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from paycore.v1 import payment_pb2, wallet_pb2

from tests.connect.test_converting_sellers import (
    destination_charge,
    refund_with_reversals,
    rows_of,
    seller_in,
)
from tests.currency.support import import_ecb, settle_in
from tests.payout.support import PayoutShop, World

RATES = "Date, USD, JPY,\n07 December 2026, 1.0540, 158.31,\n"
W = wallet_pb2


async def _usd_seller_of_a_jpy_charge(world: World, tmp_path: Path) -> tuple[PayoutShop, str, str]:
    """A shop settling in USD, its seller settling in USD, and the seller's destination charge
    of JPY 20,000 with a fee of JPY 2,000: the seller's share 11,983 cents."""
    await import_ecb(world, tmp_path / "eurofxref.csv", RATES)
    shop = await world.shop()
    await settle_in(shop, "usd")
    seller = await seller_in(shop, "usd")
    intent = await destination_charge(shop, seller, 20_000, "jpy", 2_000)
    assert (await shop.balance(seller))[1] == {"usd": 11_983}
    return shop, seller, intent.id


async def _books(shop: PayoutShop, seller: str) -> None:
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)
        await shop.assert_identity("", currency)
        await shop.assert_identity(seller, currency)


@pytest.mark.parametrize(
    ("parts", "reversed_", "given"),
    [
        # Before: ceil(13,315.6...) = 13,316 taken, floor(1,331.56...) = 1,331 given: -2.
        ([20_000], [13_315], [1_332]),
        # Before: 13,317 taken and 1,329 given in all: -5.
        (
            [5_000, 3_000, 7, 5_000, 6_993],
            # 13,315 - floor(15,000 x q = 9,986.73...) = 3,329; 9,986 - floor(12,000 x q =
            # 7,989.38...) = 1,997; 7,989 - floor(11,993 x q = 7,984.72...) = 5; 7,984 -
            # floor(6,993 x q = 4,655.81...) = 3,329; 4,655 - 0.
            [3_329, 1_997, 5, 3_329, 4_655],
            # The fee's shares in JPY 500, 300, 0 (floor(8,007 x 2,000 / 20,000) = 800), 500,
            # 700: 1,332 - round(1,500 x q = 998.67...) = 333; 999 - round(1,200 x q =
            # 798.93...) = 200; nothing; 799 - round(700 x q = 466.04...) = 333; 466 - 0.
            [333, 200, 333, 466],
        ),
    ],
)
async def test_a_converted_destination_charge_refunded_in_full_leaves_the_seller_nothing(
    fx_world: World, tmp_path: Path, parts: list[int], reversed_: list[int], given: list[int]
) -> None:
    shop, seller, intent = await _usd_seller_of_a_jpy_charge(fx_world, tmp_path)

    for part in parts:
        await refund_with_reversals(shop, intent, part)

    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    rows = await shop.transactions(seller)
    taken = rows_of(rows, W.BALANCE_TRANSACTION_TYPE_TRANSFER)
    assert sorted(-row[0] for row in taken) == sorted(reversed_)
    back = rows_of(rows, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND)
    assert sorted(row[0] for row in back) == sorted(given)
    await _books(shop, seller)


async def test_a_converted_charges_fee_given_back_in_parts_adds_up_to_the_fee_kept(
    fx_world: World, tmp_path: Path
) -> None:
    """The fee's own refunds (fr_) of JPY 667, 667 and 666 give back the 1,332 cents kept:
    1,332 - round(1,333 x q = 887.49...) = 445, 887 - round(666 x q = 443.41...) = 444, 443
    (before: each rounded down on its own, 444 + 444 + 443 = 1,331, a cent the platform kept).
    The charge refunded in full with both flags then leaves the seller nothing."""
    shop, seller, intent = await _usd_seller_of_a_jpy_charge(fx_world, tmp_path)
    fee_id = "fee_" + intent.removeprefix("pi_")

    for part in (667, 667, 666):
        await shop.client.payments.CreateApplicationFeeRefund(
            payment_pb2.CreateApplicationFeeRefundRequest(id=fee_id, amount=part)
        )

    back = rows_of(
        await shop.transactions(seller), W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND
    )
    assert sorted(row[0] for row in back) == [443, 444, 445]
    assert await shop.balance(seller) == ({"usd": 1_332}, {"usd": 11_983})

    await refund_with_reversals(shop, intent, 20_000)

    assert await shop.balance(seller) == ({"usd": 0}, {"usd": 0})
    await _books(shop, seller)
