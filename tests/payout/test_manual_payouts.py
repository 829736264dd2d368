"""Manual payouts end to end: funds settle after the delay, CreatePayout takes them to the
bank through the executor, the bank pays them as its days pass, the books balance."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2, wallet_pb2

from tests.helpers import http_get, rich_error
from tests.payment.shop import fee
from tests.payout.support import ACCOUNT_CLOSED, DAY, World, send_pending

P = payout_pb2


async def test_a_manual_payout_settles_goes_out_and_is_paid(world: World) -> None:
    shop = await world.shop()
    intent = await shop.charge(10_000)
    net = 10_000 - fee(10_000)
    assert await shop.balance() == ({"usd": 0}, {"usd": net})
    [row] = await shop.transactions()
    assert (row.amount, row.fee, row.net, row.source) == (10_000, fee(10_000), net, intent.id)
    assert row.status == wallet_pb2.BALANCE_TRANSACTION_STATUS_PENDING
    assert row.available_on == int(world.clock.now) // DAY * DAY + 2 * DAY

    bank_account = await shop.bank_account()
    assert bank_account.default_for_currency and bank_account.last4 == "6789"
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.payout(1000)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "BALANCE_INSUFFICIENT",
        "amount",
    )

    await world.advance(2)
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    [row] = await shop.transactions()
    assert row.status == wallet_pb2.BALANCE_TRANSACTION_STATUS_AVAILABLE

    payout = await shop.payout(5000, key="po-1")
    assert (payout.status, payout.destination, payout.automatic) == (
        P.PAYOUT_STATUS_PENDING,
        bank_account.id,
        False,
    )
    assert await shop.payout(5000, key="po-1") == payout  # replayed
    assert await shop.balance() == ({"usd": net - 5000}, {"usd": 0})
    assert await shop.ledger_balance("payouts_in_transit") == 5000

    sent = await send_pending(world, shop, payout.id)
    assert sent.status == P.PAYOUT_STATUS_IN_TRANSIT
    await world.advance(1)
    assert (await shop.get_payout(payout.id)).status == P.PAYOUT_STATUS_IN_TRANSIT
    await world.advance(1)  # Wednesday: the second business day after Monday
    paid = await shop.get_payout(payout.id)
    assert paid.status == P.PAYOUT_STATUS_PAID
    assert await shop.ledger_balance("payouts_in_transit") == 0
    # platform_cash is an asset: credited 5000, the cash that left for the bank account.
    assert await shop.ledger_balance("platform_cash") == 5000

    day = dt.datetime.fromtimestamp(world.clock.now, dt.UTC).date().isoformat()
    report = await asyncio.to_thread(http_get, f"{world.psp.url}/v1/bank/payouts_report/{day}")
    lines = [json.loads(line) for line in report.splitlines()]
    assert [(line["type"], line["reference"], line["amount"]) for line in lines] == [
        ("paid", payout.id, 5000)
    ]
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()


async def test_a_payout_to_a_closed_account_fails_returns_the_funds_and_errors_the_account(
    world: World,
) -> None:
    shop = await world.shop()
    await shop.charge(10_000)
    net = 10_000 - fee(10_000)
    closed = await shop.bank_account(ACCOUNT_CLOSED)
    await world.advance(2)
    payout = await send_pending(world, shop, (await shop.payout(3000)).id)
    assert payout.status == P.PAYOUT_STATUS_IN_TRANSIT
    registry = world.platform.metrics.registry
    counted = {"failure_code": "account_closed"}
    before = registry.get_sample_value("paycore_payouts_failed_total", counted) or 0.0
    await world.advance(3)
    failed = await shop.get_payout(payout.id)
    assert (failed.status, failed.failure_code) == (P.PAYOUT_STATUS_FAILED, "account_closed")
    assert registry.get_sample_value("paycore_payouts_failed_total", counted) == before + 1
    assert await shop.balance() == ({"usd": net}, {"usd": 0})
    errored = await shop.client.payouts.GetBankAccount(P.GetBankAccountRequest(id=closed.id))
    assert errored.status == P.BANK_ACCOUNT_STATUS_ERRORED
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.payout(1000)
    assert rich_error(raised.value).reason == "BANK_ACCOUNT_ERRORED"
    types = [t.type for t in await shop.transactions()]
    assert wallet_pb2.BALANCE_TRANSACTION_TYPE_PAYOUT_FAILURE in types
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()
