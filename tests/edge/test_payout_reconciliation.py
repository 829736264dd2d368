"""Stripe's payout reconciliation (docs.stripe.com/payouts/reconciliation): an automatic
payout's balance transactions can be listed (`ListBalanceTransactions?payout=po_...`) as soon
as it is created, so its `reconciliation_status` is `completed` and `payout.reconciliation_
completed` is recorded with it; a manual payout's is `not_applicable` (Stripe cannot tell what
a manual payout contains) and records none."""

from __future__ import annotations

from aiohttp import ClientSession
from paycore.v1 import event_pb2, payout_pb2

from tests.edge.helpers import call
from tests.payout.support import World

P = payout_pb2


async def test_an_automatic_payouts_reconciliation_is_completed_a_manual_ones_not_applicable(
    world: World, world_http: ClientSession
) -> None:
    shop = await world.shop()
    await shop.bank_account()
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_DAILY)
    await shop.charge(10_000)
    await world.advance(3)
    [automatic] = [p for p in await shop.payouts() if p.automatic]
    assert automatic.reconciliation_status == P.PAYOUT_RECONCILIATION_STATUS_COMPLETED
    rows = await shop.transactions(payout=automatic.id)
    swept = [row for row in rows if row.source != automatic.id]
    assert sum(row.net for row in swept) == automatic.amount  # what "completed" promises
    await shop.schedule(P.PAYOUT_SCHEDULE_INTERVAL_MANUAL)
    await shop.charge(5000)
    await world.advance(2)
    manual = await shop.payout(1000)
    assert manual.reconciliation_status == P.PAYOUT_RECONCILIATION_STATUS_NOT_APPLICABLE

    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="payout.reconciliation_completed", limit=100)
    )
    carried = []
    for event in events.data:
        payout = P.Payout()
        assert event.data.object.Unpack(payout)
        carried.append(payout.id)
    assert automatic.id in carried and manual.id not in carried

    key = shop.merchant.secret_key
    rendered = {
        found["id"]: found["reconciliation_status"]
        for found in (await call(world_http, "GET", "/v1/payouts?limit=100", key=key)).body["data"]
    }
    assert (rendered[automatic.id], rendered[manual.id]) == ("completed", "not_applicable")
    await shop.assert_identity()
    await shop.assert_clean()
    await shop.close()
