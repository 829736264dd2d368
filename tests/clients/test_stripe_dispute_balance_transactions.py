"""A dispute's `balance_transactions` as Stripe renders them: the balance transaction objects
themselves, without asking (`dispute.balance_transactions[0].amount`, as Stripe's guides read
the fee a chargeback cost). paycore rendered their ids, so stripe-python's code read a `str`
(AttributeError on `.amount`) unless it passed `expand[]` (found by a black-box probe through
the SDK). The charge.dispute.* events carry the same snapshot as a GET; gRPC keeps the ids in
field 11 (`balance_transaction_ids`) beside the objects."""

from __future__ import annotations

import asyncio

import stripe
from paycore.v1 import dispute_pb2, event_pb2

from tests.clients.conftest import StripeWorld, disputed_payment


async def test_a_disputes_balance_transactions_are_objects(stripe_merchant: StripeWorld) -> None:
    world = stripe_merchant.world
    intent = await disputed_payment(world)

    def opened() -> str:
        [dispute] = stripe.Dispute.list(payment_intent=intent.id).data
        [withdrawal] = dispute.balance_transactions
        assert isinstance(withdrawal, stripe.BalanceTransaction)
        assert (withdrawal.object, withdrawal.type, withdrawal.source) == (
            "balance_transaction",
            "adjustment",
            dispute.id,
        )
        assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-2000, 1500, -3500)
        assert withdrawal.reporting_category == "dispute"
        read = stripe.Dispute.retrieve(dispute.id)
        assert read.to_dict() == dispute.to_dict()
        assert stripe.BalanceTransaction.retrieve(withdrawal.id).to_dict() == withdrawal.to_dict()
        # Asking to expand what is expanded already changes nothing (as it did for the ids).
        expanded = stripe.Dispute.retrieve(dispute.id, expand=["balance_transactions"])
        assert expanded.to_dict() == read.to_dict()
        events = stripe.Event.list(type="charge.dispute.funds_withdrawn").data
        [withdrawn] = [event for event in events if event.data.object.id == dispute.id]
        assert withdrawn.data.object.to_dict() == read.to_dict()
        return str(dispute.id)

    dispute_id = await asyncio.to_thread(opened)

    got = await world.admin.disputes.GetDispute(
        dispute_pb2.GetDisputeRequest(id=dispute_id),
        metadata=(("paycore-merchant", stripe_merchant.merchant.merchant_id),),
    )
    assert list(got.balance_transaction_ids) == [got.balance_transactions[0].id]
    assert (got.balance_transactions[0].amount, got.balance_transactions[0].fee) == (-2000, 1500)
    listed = await world.admin.events.ListEvents(
        event_pb2.ListEventsRequest(type="charge.dispute.funds_withdrawn"),
        metadata=(("paycore-merchant", stripe_merchant.merchant.merchant_id),),
    )
    snapshot = dispute_pb2.Dispute()
    assert listed.data[0].data.object.Unpack(snapshot)
    assert snapshot.balance_transactions == got.balance_transactions
