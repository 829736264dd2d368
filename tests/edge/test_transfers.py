"""Separate charges and transfers over HTTP, as a platform tries Stripe's Transfers API: a
charge that settles, a transfer to a seller (its balance transactions), the list and its
filters, an update, reversals, and a transfer the balance cannot cover (400)."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, card_method, charge, new_merchant, seller_account
from tests.payment.shop import fee, good_card
from tests.payout.support import World


async def test_transfers_and_reversals_over_http(world: World, world_http: ClientSession) -> None:
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    intent = await charge(http, key, 10_000, good_card(), world.run_worker_once)
    net = 10_000 - fee(10_000)
    seller = await seller_account(http, key)
    await world.advance(2)

    too_much = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount={net + 1}&currency=usd&destination={seller}",
    )
    assert (too_much.status, too_much.error["code"], too_much.error["param"]) == (
        400,
        "balance_insufficient",
        "amount",
    )

    created = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        headers={"Idempotency-Key": "tr-http-1"},
        form=f"amount=4000&currency=usd&destination={seller}&transfer_group=ORDER_7"
        f"&source_transaction={intent}&metadata[order]=7",
    )
    assert created.status == 200, created.body
    transfer = created.body
    assert transfer["object"] == "transfer"
    assert (transfer["amount"], transfer["destination"], transfer["reversed"]) == (
        4000,
        seller,
        False,
    )
    assert transfer["source_transaction"] == intent
    assert transfer["metadata"] == {"order": "7"}
    assert (transfer["transfer_group"], transfer["description"]) == ("ORDER_7", None)
    fetched = await call(http, "GET", f"/v1/transfers/{transfer['id']}", key=key)
    assert fetched.body == transfer
    listed = await call(
        http, "GET", f"/v1/transfers?destination={seller}&transfer_group=ORDER_7", key=key
    )
    assert [found["id"] for found in listed.body["data"]] == [transfer["id"]]
    assert listed.body["url"] == "/v1/transfers"
    seller_rows = await call(http, "GET", f"/v1/balance_transactions?account={seller}", key=key)
    assert [(row["type"], row["amount"]) for row in seller_rows.body["data"]] == [
        ("charge", 4000)  # Stripe's `payment`, as the REST edge names it
    ]

    updated = await call(
        http,
        "POST",
        f"/v1/transfers/{transfer['id']}",
        key=key,
        form="description=order+7&metadata[note]=x",
    )
    assert (updated.body["description"], updated.body["metadata"]) == (
        "order 7",
        {"order": "7", "note": "x"},
    )

    part = await call(
        http, "POST", f"/v1/transfers/{transfer['id']}/reversals", key=key, form="amount=1000"
    )
    assert part.status == 200, part.body
    assert (part.body["object"], part.body["amount"], part.body["transfer"]) == (
        "transfer_reversal",
        1000,
        transfer["id"],
    )
    over = await call(
        http, "POST", f"/v1/transfers/{transfer['id']}/reversals", key=key, form="amount=3001"
    )
    assert (over.status, over.error["param"]) == (400, "amount")
    rest = await call(http, "POST", f"/v1/transfers/{transfer['id']}/reversals", key=key)
    assert rest.body["amount"] == 3000
    reversals = await call(http, "GET", f"/v1/transfers/{transfer['id']}/reversals", key=key)
    assert reversals.status == 200, reversals.body
    assert [(r["id"], r["amount"]) for r in reversals.body["data"]] == [
        (rest.body["id"], 3000),
        (part.body["id"], 1000),
    ]
    reversed_transfer = await call(http, "GET", f"/v1/transfers/{transfer['id']}", key=key)
    assert (reversed_transfer.body["amount_reversed"], reversed_transfer.body["reversed"]) == (
        4000,
        True,
    )
    # Stripe's inline list of the transfer's reversals, newest first.
    assert reversed_transfer.body["reversals"] == {
        "object": "list",
        "data": reversals.body["data"],
        "has_more": False,
        "total_count": 2,
        "url": f"/v1/transfers/{transfer['id']}/reversals",
    }
    one = await call(
        http, "GET", f"/v1/transfers/{transfer['id']}/reversals/{part.body['id']}", key=key
    )
    assert one.status == 200, one.body
    assert one.body == part.body
    other = await call(
        http, "POST", "/v1/transfers", key=key, form=f"amount=500&currency=usd&destination={seller}"
    )
    # none given: null, as Stripe's (they rendered "")
    assert (other.body["transfer_group"], other.body["description"]) == (None, None)
    other_reversal = await call(
        http, "POST", f"/v1/transfers/{other.body['id']}/reversals", key=key
    )
    missing = await call(
        http,
        "GET",
        f"/v1/transfers/{transfer['id']}/reversals/{other_reversal.body['id']}",
        key=key,
    )
    assert (missing.status, missing.error["code"]) == (404, "resource_missing")
    assert missing.error["param"] == "reversal"
    platform_rows = await call(
        http, "GET", "/v1/balance_transactions?type=transfer_reversal", key=key
    )
    assert sorted(row["amount"] for row in platform_rows.body["data"]) == [500, 1000, 3000]
    # Stripe's TransferReversal names the platform's balance transaction it made (the row of
    # type transfer_reversal above), wherever the reversal is read; paycore makes no refund on
    # the seller's side and a reversal of its own is no refund's: both null.
    by_reversal = {row["source"]: row["id"] for row in platform_rows.body["data"]}
    for made in (part.body, rest.body, other_reversal.body):
        assert made["balance_transaction"] == by_reversal[made["id"]]
        assert (made["destination_payment_refund"], made["source_refund"]) == (None, None)
    # A reversal made without a description has none: null, as every text never given (it
    # rendered "").
    assert other_reversal.body["description"] is None
    assert one.body["balance_transaction"] == by_reversal[part.body["id"]]
    assert [r["balance_transaction"] for r in reversals.body["data"]] == [
        by_reversal[rest.body["id"]],
        by_reversal[part.body["id"]],
    ]


async def test_application_fees_over_http(world: World, world_http: ClientSession) -> None:
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    seller = await seller_account(http, key)
    method = await card_method(http, key, good_card())
    intent = await call(
        http,
        "POST",
        "/v1/payment_intents",
        key=key,
        form=f"amount=10000&currency=usd&confirm=true&payment_method={method}"
        f"&transfer_data[destination]={seller}&application_fee_amount=700",
    )
    assert intent.body["status"] == "succeeded", intent.body
    listed = await call(http, "GET", f"/v1/application_fees?account={seller}", key=key)
    assert listed.status == 200, listed.body
    assert listed.body["url"] == "/v1/application_fees"
    [fee] = listed.body["data"]
    assert fee["object"] == "application_fee"
    assert (fee["amount"], fee["amount_refunded"], fee["account"], fee["refunded"]) == (
        700,
        0,
        seller,
        False,
    )
    assert fee["payment_intent"] == intent.body["id"]
    fetched = await call(http, "GET", f"/v1/application_fees/{fee['id']}", key=key)
    assert fetched.body == fee
