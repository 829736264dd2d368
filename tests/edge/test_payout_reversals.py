"""A payout's reversal as a stripe-python user makes it (`client.payouts.reverse`, Stripe's
POST /v1/payouts/{id}/reverse): the reversing payout's Stripe shape (-amount,
`original_payout`, `reversed_by` null), the original's `reversed_by`, null on any other payout,
and a second reversal refused as Stripe's invalid_request_error naming `id`."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.edge import start_edge

from tests.payout.support import World, paid_seller_payout


async def test_stripe_python_reverses_a_paid_payout(world: World) -> None:
    shop = await world.shop()
    seller, original = await paid_seller_payout(world, shop, 2500)
    edge = await start_edge(world.target, "127.0.0.1:0")
    sdk = stripe.StripeClient(
        shop.merchant.secret_key,
        base_addresses={"api": f"http://127.0.0.1:{edge.port}"},
        max_network_retries=0,
    )

    def run() -> None:
        before = sdk.v1.payouts.retrieve(original.id)
        assert (before.reversed_by, before.original_payout) == (None, None)
        options: stripe.RequestOptions = {"idempotency_key": "reverse-" + original.id}
        reversal = sdk.v1.payouts.reverse(original.id, {"metadata": {"why": "test"}}, options)
        assert (reversal.object, reversal.amount, reversal.status) == ("payout", -2500, "paid")
        assert (reversal.original_payout, reversal.reversed_by) == (original.id, None)
        assert (reversal.destination, reversal.type, reversal.method) == (
            original.destination,
            "bank_account",
            "standard",
        )
        assert reversal.metadata is not None
        assert reversal.metadata.to_dict() == {"why": "test"}
        assert sdk.v1.payouts.reverse(original.id, {"metadata": {"why": "test"}}, options).id == (
            reversal.id
        )
        assert sdk.v1.payouts.retrieve(original.id).reversed_by == reversal.id
        row = sdk.v1.balance_transactions.retrieve(str(reversal.balance_transaction))
        assert (row.type, row.amount, row.source) == ("payout", 2500, reversal.id)
        with pytest.raises(stripe.InvalidRequestError) as raised:
            sdk.v1.payouts.reverse(original.id)
        assert (raised.value.http_status, raised.value.code, raised.value.param) == (
            400,
            "payout_not_reversible",
            "id",
        )

    try:
        await asyncio.to_thread(run)
    finally:
        await edge.close()
    await shop.assert_identity(seller)
    await shop.assert_clean()
    await shop.close()
