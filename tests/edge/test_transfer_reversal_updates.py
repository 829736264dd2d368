"""A transfer reversal's metadata updated as a stripe-python user updates it
(`client.v1.transfers.reversals.update`, Stripe's POST /v1/transfers/{id}/reversals/{reversal},
which takes metadata alone): merged, a key with an empty value removed, `metadata=""` clearing
all; one of another transfer, or none, is 404 resource_missing naming `reversal`; a parameter
Stripe's update does not take is refused naming it. It answered 405 before."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from aiohttp import ClientSession
from paycore.edge import start_edge

from tests.edge.helpers import charge, new_merchant, seller_account
from tests.payment.shop import good_card
from tests.payout.support import World


async def test_stripe_python_updates_a_reversals_metadata(
    world: World, world_http: ClientSession
) -> None:
    http = world_http
    key = (await new_merchant(http, world.admin_token))["secret_key"]
    await charge(http, key, 10_000, good_card(), world.run_worker_once)
    seller = await seller_account(http, key)
    await world.advance(2)
    edge = await start_edge(world.target, "127.0.0.1:0")
    sdk = stripe.StripeClient(
        key, base_addresses={"api": f"http://127.0.0.1:{edge.port}"}, max_network_retries=0
    )

    def run() -> None:
        transfer = sdk.v1.transfers.create(
            {"amount": 3000, "currency": "usd", "destination": seller}
        )
        other = sdk.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": seller})
        reversal = sdk.v1.transfers.reversals.create(
            transfer.id, {"amount": 500, "metadata": {"a": "1", "b": "2"}}
        )
        updated = sdk.v1.transfers.reversals.update(
            transfer.id, reversal.id, {"metadata": {"b": "", "c": "3"}}
        )
        assert (updated.id, updated.object, updated.amount) == (
            reversal.id,
            "transfer_reversal",
            500,
        )
        assert updated.balance_transaction == reversal.balance_transaction
        assert updated.to_dict()["metadata"] == {"a": "1", "c": "3"}
        read = sdk.v1.transfers.reversals.retrieve(transfer.id, reversal.id)
        assert read.to_dict() == updated.to_dict()
        cleared = sdk.v1.transfers.reversals.update(transfer.id, reversal.id, {"metadata": ""})
        assert cleared.to_dict()["metadata"] == {}
        with pytest.raises(stripe.InvalidRequestError) as raised:
            sdk.v1.transfers.reversals.update(other.id, reversal.id, {"metadata": {"x": "1"}})
        assert (raised.value.http_status, raised.value.code, raised.value.param) == (
            404,
            "resource_missing",
            "reversal",
        )
        with pytest.raises(stripe.InvalidRequestError) as raised:
            sdk.raw_request(
                "post", f"/v1/transfers/{transfer.id}/reversals/{reversal.id}", amount=5
            )
        assert (raised.value.http_status, raised.value.param) == (400, "amount")
        assert sdk.v1.transfers.retrieve(transfer.id).amount_reversed == 500  # no money moved

    try:
        await asyncio.to_thread(run)
    finally:
        await edge.close()
