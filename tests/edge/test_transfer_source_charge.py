"""Stripe's `source_transaction` is a charge (`ch_...`: its guide writes
`stripe.Transfer.create(..., source_transaction=payment_intent.latest_charge)`): a transfer
following the charge named so follows its intent, as one naming the `pi_` does (the charges'
funds counted together); a `ch_` the merchant has no succeeded charge of is 400 naming it."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.edge.helpers import call, charge, new_merchant, seller_account
from tests.payment.shop import good_card
from tests.payout.support import World


async def test_a_transfer_follows_the_charge_its_source_transaction_names(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    merchant = await new_merchant(http, world.admin_token)
    key = merchant["secret_key"]
    intent_id = await charge(http, key, 10_000, good_card(), world.run_worker_once)
    intent = await call(http, "GET", f"/v1/payment_intents/{intent_id}", key=key)
    charge_id = intent.body["latest_charge"]
    assert str(charge_id).startswith("ch_")
    seller = await seller_account(http, key)
    await world.advance(2)

    created = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=6000&currency=usd&destination={seller}&source_transaction={charge_id}",
    )
    assert created.status == 200, created.body
    assert created.body["source_transaction"] == intent_id

    beyond = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=4001&currency=usd&destination={seller}&source_transaction={intent_id}",
    )
    assert (beyond.status, beyond.error["code"]) == (400, "amount_too_large")

    unknown = await call(
        http,
        "POST",
        "/v1/transfers",
        key=key,
        form=f"amount=100&currency=usd&destination={seller}&source_transaction=ch_nosuchcharge",
    )
    assert (unknown.status, unknown.error["param"]) == (400, "source_transaction")
