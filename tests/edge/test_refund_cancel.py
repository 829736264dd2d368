"""A refund canceled as a stripe-python user cancels it (`client.v1.refunds.cancel`, Stripe's
POST /v1/refunds/{id}/cancel): a pending refund not yet sent to the PSP answers Stripe's
canceled refund (failure_reason merchant_request); one that succeeded is Stripe's
invalid_request_error naming `id`."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from paycore.edge import start_edge

from tests.payment.shop import PayIn, Shop, good_card
from tests.payment.test_refund_cancel import pending_refund


async def test_stripe_python_cancels_a_pending_refund(payin: PayIn, shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1500)
    pending = await pending_refund(payin, shop, intent.id, 500)
    edge = await start_edge(payin.target, "127.0.0.1:0")
    sdk = stripe.StripeClient(
        shop.merchant.secret_key,
        base_addresses={"api": f"http://127.0.0.1:{edge.port}"},
        max_network_retries=0,
    )

    def run() -> None:
        assert sdk.v1.refunds.retrieve(pending).status == "pending"
        canceled = sdk.v1.refunds.cancel(pending)
        assert (canceled.object, canceled.status, canceled.failure_reason) == (
            "refund",
            "canceled",
            "merchant_request",
        )
        assert (canceled.amount, canceled.payment_intent) == (500, intent.id)
        refunded = sdk.v1.refunds.create({"payment_intent": intent.id})
        assert (refunded.status, refunded.amount) == ("succeeded", 1500)
        with pytest.raises(stripe.InvalidRequestError) as raised:
            sdk.v1.refunds.cancel(refunded.id)
        assert (raised.value.http_status, raised.value.code, raised.value.param) == (
            400,
            "refund_not_cancelable",
            "id",
        )

    try:
        await asyncio.to_thread(run)
    finally:
        await edge.close()
    await shop.assert_books_balance()
