"""A billing run that dies mid-renewal: after the renewal's first transaction (invoice and
charge recorded, PSP not called), or after the PSP call (intent paid, invoice not settled).
The next run finishes it: one invoice, one charge, the money once in the ledger."""

from __future__ import annotations

import pytest
from paycore.payment.models import IntentStatus
from paycore.v1 import payment_pb2, subscription_pb2

from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, Billed

S = subscription_pb2
FEB_28_2026 = JAN_31_2026 + 28 * 86_400


@pytest.mark.parametrize("dies", ["before_the_psp_call", "after_the_psp_call"])
async def test_a_renewal_interrupted_by_a_crash_is_finished_once(
    payin: PayIn, shop: Shop, dies: str
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    subscription = await billed.subscribe()
    await shop.client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billed.clock, frozen_time=FEB_28_2026)
    )
    platform = payin.platform
    async with platform.shards.transaction(shop.id) as connection:
        step = await platform.billing_clock.step(connection, shop.id, subscription.id)
    assert step.settle is not None  # the renewal's charge is recorded; the run "dies" here
    if dies == "after_the_psp_call":
        intent = await platform.billing.collection.charges.run(
            shop.id, (await billed.invoices(subscription.id))[1].payment_intent
        )
        assert intent is not None and intent.status is IntentStatus.SUCCEEDED

    await billed.drain()

    first, renewal = await billed.invoices(subscription.id)
    assert (renewal.status, renewal.amount_paid, renewal.attempt_count) == (
        S.INVOICE_STATUS_PAID,
        1500,
        1,
    )
    intents = await shop.client.payments.ListPaymentIntents(
        payment_pb2.ListPaymentIntentsRequest(customer=billed.customer)
    )
    assert sorted(intent.id for intent in intents.data) == sorted(
        [first.payment_intent, renewal.payment_intent]
    )
    assert (await shop.balance())[1] == {"usd": 2 * (1500 - fee(1500))}
    await shop.assert_books_balance()
