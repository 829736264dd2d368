"""Money that crossed into a seller's settlement currency and comes back in full leaves the
seller exactly where it started, however many parts it comes back in: each part moves the
difference it makes to what the seller holds of that money, what a crossing of the net would
have credited, rounded down (paycore.currency.crossing.part_of), so the parts add up to what
was credited. Before, each part was rounded up on its own and a full reversal took a cent more
than the seller got (docs/currencies.md, "Sellers that settle in another currency").

USD -> EUR 0.833333333333 (tests.connect.test_converting_sellers): USD 9,000 crossed is
7,499.999999997 -> 7,499 euro cents, its remainder 0.999999997 carried."""

from __future__ import annotations

from pathlib import Path

import pytest
from paycore.v1 import wallet_pb2

from tests.connect.support import reverse, transfer
from tests.connect.test_converting_sellers import (
    USD_EUR,
    destination_charge,
    funded_shop_with_eur_seller,
    refund_with_reversals,
    usd_platform_with_eur_seller,
)
from tests.currency.support import carry
from tests.payout.support import PayoutShop, World


async def _whole(world: World, shop: PayoutShop, seller: str) -> None:
    """The seller holds nothing, and every crossing's remainder was given back: the carry and
    fx_rounding are 0 in EUR, the clearing pair empty, the books balanced."""
    assert await shop.balance(seller) == ({"eur": 0}, {"eur": 0})
    assert await carry(world, shop.id, "eur") == 0
    assert await shop.ledger_balance("fx_rounding", "eur") == 0
    for currency in ("usd", "eur"):
        assert await shop.ledger_balance("fx_clearing:usd_eur", currency) == 0
        await shop.assert_books_balance(currency)
        await shop.assert_identity("", currency)
        await shop.assert_identity(seller, currency)


@pytest.mark.parametrize(
    ("parts", "taken"),
    [
        # 7,499 - floor(0 x q) = 7,499 (before: ceil(7,499.999999997) = 7,500: -1).
        ([9_000], [-7_499]),
        # 7,499 - floor(4,500 x q = 3,749.9999999985) = 3,750, then 3,749 - 0 = 3,749
        # (before: 3,750 twice: -1).
        ([4_500, 4_500], [-3_750, -3_749]),
        # Holding 6,000: floor(4,999.999999998) = 4,999, taken 2,500; 3,000:
        # floor(2,499.999999999) = 2,499, taken 2,500; 0: taken 2,499 (before: 2,500 thrice: -1).
        ([3_000, 3_000, 3_000], [-2_500, -2_500, -2_499]),
        # A cent first: floor(8,999 x q = 7,499.166666663667) = 7,499, nothing taken (a zero
        # row shows its conversion); then the rest, 7,499 (before: 1, then 7,500: -2).
        ([1, 8_999], [-7_499, 0]),
    ],
)
async def test_a_transfer_reversed_in_parts_leaves_the_seller_whole(
    fx_world: World, tmp_path: Path, parts: list[int], taken: list[int]
) -> None:
    world = fx_world
    shop, seller = await funded_shop_with_eur_seller(world, tmp_path)
    sent = await transfer(shop, 9_000, seller)
    assert (await shop.balance(seller))[0] == {"eur": 7_499}

    for part in parts:
        await reverse(shop, sent.id, part)

    rows = await shop.transactions(seller)
    reversals = [
        row for row in rows if row.type == wallet_pb2.BALANCE_TRANSACTION_TYPE_TRANSFER_REVERSAL
    ]
    assert sorted(row.amount for row in reversals) == sorted(taken)
    assert sorted(row.presentment_amount for row in reversals) == sorted(parts)
    assert {(row.exchange_rate, row.presentment_currency) for row in reversals} == {
        (USD_EUR, "usd")
    }
    await _whole(world, shop, seller)


async def test_a_destination_charge_refunded_in_full_leaves_the_seller_whole(
    fx_world: World, tmp_path: Path
) -> None:
    """USD 10,000, fee 1,000: the share 9,000 -> 7,499 euro cents. Refunded in full with both
    flags: the reversal of 10,000 takes the seller's holding to -1,000 (floor(-833.333333333)
    = -834), taking 7,499 + 834 = 8,333; the fee's 1,000 brings it to 0, giving 834. Before:
    ceil(8,333.33333333) = 8,334 taken and floor(833.333333333) = 833 given: -2."""
    world = fx_world
    shop, seller = await usd_platform_with_eur_seller(world, tmp_path)
    intent = await destination_charge(shop, seller, 10_000, "usd", 1_000)
    assert (await shop.balance(seller))[1] == {"eur": 7_499}

    await refund_with_reversals(shop, intent.id, 10_000)

    await _whole(world, shop, seller)
