"""ListBalanceTransactions' `type` filter takes every type a merchant's rows show, the FX result
of a converted refund (`fx_gain_loss`) included: found by the audit of one merchant's money
life, where `GET /v1/balance_transactions?type=fx_gain_loss` answered 400 "type has an unknown
value 9" although the list showed such a row. The numbers are test_conversion_scenario's."""

from __future__ import annotations

from pathlib import Path

from paycore.v1 import wallet_pb2

from tests.currency.support import import_ecb, settle_in
from tests.payout.support import World

DAY_1 = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
DAY_2 = "Date, USD, JPY,\n08 December 2026, 1.2000, 160.00,\n"
W = wallet_pb2


async def test_every_row_type_is_a_filter_that_finds_its_rows(
    fx_world: World, tmp_path: Path
) -> None:
    world = fx_world
    shop = await world.shop()
    await settle_in(shop, "usd")
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_1) > 0
    intent = await shop.charge(10_000, "jpy")
    world.clock.advance(86_400)
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_2) > 0
    await shop.refund(intent.id, 3_333)

    rows = await shop.transactions()
    assert {row.type for row in rows} == {
        W.BALANCE_TRANSACTION_TYPE_PAYMENT,
        W.BALANCE_TRANSACTION_TYPE_REFUND,
        W.BALANCE_TRANSACTION_TYPE_FX_GAIN_LOSS,
    }
    for kind in W.BalanceTransactionType.values():
        if kind == W.BALANCE_TRANSACTION_TYPE_UNSPECIFIED:
            continue
        page = await shop.client.wallet.ListBalanceTransactions(
            W.ListBalanceTransactionsRequest(type=kind, limit=100)
        )
        assert [row.id for row in page.data] == [row.id for row in rows if row.type == kind]
    (fx,) = (
        await shop.client.wallet.ListBalanceTransactions(
            W.ListBalanceTransactionsRequest(type=W.BALANCE_TRANSACTION_TYPE_FX_GAIN_LOSS)
        )
    ).data
    assert (fx.amount, fx.currency, fx.exchange_rate) == (167, "usd", "0.0075")  # 2,667 - 2,500
