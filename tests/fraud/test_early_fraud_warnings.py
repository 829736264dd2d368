"""Early fraud warnings: the PSP simulator warns of a charge of Stripe's test card
4000000000005423 once it succeeds; the worker's `early_fraud_warning_feed` job stores the
warning once, with `radar.early_fraud_warning.created`, and the merchant reads it (Get, List
of a charge or a payment intent) in Stripe's shape; a refund in full makes it not actionable."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.fraud.early_warnings import early_fraud_warning_feed
from paycore.tools.psp import cards
from paycore.v1 import event_pb2, fraud_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card, open_shop


async def read_warnings(payin: PayIn) -> int:
    """The worker's early_fraud_warning_feed job, on every shard, until it finds nothing."""
    job = early_fraud_warning_feed(payin.platform.early_fraud_warnings, payin.platform.shards)
    total = 0
    while True:
        found = sum([await job.run(engine) for engine in payin.platform.shards.engines])
        total += found
        if not found:
            return total


async def test_a_warned_charge_is_read_once_with_its_event(payin: PayIn, shop: Shop) -> None:
    warned = await shop.pay(cards.CARD_EARLY_FRAUD_WARNING, 2500)
    quiet = await shop.pay(good_card(), 1500)
    assert warned.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
    await read_warnings(payin)
    assert await read_warnings(payin) == 0  # the feed's position moved on: nothing twice

    fraud = shop.client.fraud
    listed = await fraud.ListEarlyFraudWarnings(fraud_pb2.ListEarlyFraudWarningsRequest())
    assert [(w.charge, w.payment_intent) for w in listed.data] == [
        (warned.latest_charge, warned.id)
    ]
    warning = listed.data[0]
    assert warning.id.startswith("issfr_") and warning.created > 0
    assert (warning.fraud_type, warning.actionable) == ("made_with_stolen_card", True)
    assert (
        await fraud.GetEarlyFraudWarning(fraud_pb2.GetEarlyFraudWarningRequest(id=warning.id))
        == warning
    )
    of_charge = await fraud.ListEarlyFraudWarnings(
        fraud_pb2.ListEarlyFraudWarningsRequest(charge=warned.latest_charge)
    )
    assert [w.id for w in of_charge.data] == [warning.id]
    of_quiet = await fraud.ListEarlyFraudWarnings(
        fraud_pb2.ListEarlyFraudWarningsRequest(payment_intent=quiet.id)
    )
    assert list(of_quiet.data) == []

    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="radar.early_fraud_warning.created")
    )
    assert len(events.data) == 1
    recorded = fraud_pb2.EarlyFraudWarning()
    assert events.data[0].data.object.Unpack(recorded) and recorded.id == warning.id

    # Refunded in full, the warning is no longer actionable (nothing left to dispute).
    await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_intent=warned.id)
    )
    await payin.run_worker_once()
    refunded = await fraud.GetEarlyFraudWarning(
        fraud_pb2.GetEarlyFraudWarningRequest(id=warning.id)
    )
    assert refunded.actionable is False

    for request, param in (
        (fraud_pb2.ListEarlyFraudWarningsRequest(charge="nope"), "charge"),
        (fraud_pb2.ListEarlyFraudWarningsRequest(payment_intent="ch_1"), "payment_intent"),
    ):
        with pytest.raises(aio.AioRpcError) as refused:
            await fraud.ListEarlyFraudWarnings(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rich_error(refused.value).param == param
    other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        with pytest.raises(aio.AioRpcError) as hidden:
            await other.client.fraud.GetEarlyFraudWarning(
                fraud_pb2.GetEarlyFraudWarningRequest(id=warning.id)
            )
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        assert (
            list(
                (
                    await other.client.fraud.ListEarlyFraudWarnings(
                        fraud_pb2.ListEarlyFraudWarningsRequest()
                    )
                ).data
            )
            == []
        )
    finally:
        await other.close()
