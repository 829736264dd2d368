"""Stripe's transfer_group on payment intents: stored and rendered on the intent and its
charges, settable by update while the intent has none, ListCharges filters by it; the
transfers that pay the charge out carry the same group and ListTransfers finds them by it."""

from __future__ import annotations

import grpc
from paycore.v1 import payment_pb2, payout_pb2

from tests.connect.support import assert_books, transfer
from tests.customer.support import failure
from tests.payout.support import World

P = payment_pb2


async def test_a_charge_and_the_transfers_paying_it_out_share_a_group(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    payments = shop.client.payments
    intent = await payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method="pm_card_visa",
            confirm=True,
            transfer_group="ORDER_7",
        ),
        metadata=(("idempotency-key", "pi-group-7"),),
    )
    other = await payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=500, currency="usd", payment_method="pm_card_visa", confirm=True
        )
    )

    assert (intent.status, intent.transfer_group) == (P.PAYMENT_INTENT_STATUS_SUCCEEDED, "ORDER_7")
    got = await payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
    assert got.transfer_group == "ORDER_7" and other.transfer_group == ""
    charge = await payments.GetCharge(P.GetChargeRequest(id=intent.latest_charge))
    assert charge.transfer_group == "ORDER_7"
    grouped = await payments.ListCharges(P.ListChargesRequest(transfer_group="ORDER_7"))
    assert [found.id for found in grouped.data] == [intent.latest_charge]
    every = await payments.ListCharges(P.ListChargesRequest())
    assert {found.id for found in every.data} == {intent.latest_charge, other.latest_charge}

    sent = await transfer(
        shop, 7000, seller, source_transaction=intent.id, transfer_group=charge.transfer_group
    )
    await transfer(shop, 100, seller, source_transaction=other.id)
    listed = await shop.client.payouts.ListTransfers(
        payout_pb2.ListTransfersRequest(transfer_group="ORDER_7")
    )
    assert [found.id for found in listed.data] == [sent.id]
    await assert_books(shop, seller)
    await shop.close()


async def test_an_update_sets_a_group_once(world: World) -> None:
    shop = await world.shop()
    payments = shop.client.payments
    intent = await payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(amount=1000, currency="usd")
    )

    grouped = await payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=intent.id, transfer_group="ORDER_8")
    )
    assert grouped.transfer_group == "ORDER_8"
    same = await payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=intent.id, transfer_group="ORDER_8", description="d")
    )
    assert (same.transfer_group, same.description) == ("ORDER_8", "d")
    changed = await failure(
        payments.UpdatePaymentIntent(
            P.UpdatePaymentIntentRequest(id=intent.id, transfer_group="ORDER_9", description="x")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert changed.param == "transfer_group"
    too_long = await failure(
        payments.CreatePaymentIntent(
            P.CreatePaymentIntentRequest(amount=1000, currency="usd", transfer_group="g" * 201)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert too_long.param == "transfer_group"
    got = await payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
    assert (got.transfer_group, got.description) == ("ORDER_8", "d")
    await shop.close()


async def test_a_transfer_following_a_charge_takes_its_group_or_gives_it_one(world: World) -> None:
    """Stripe's rule for source_transaction: a transfer without a group takes the charge's;
    a charge without one gets `group_<pi>`, and so does the transfer."""
    shop = await world.shop()
    seller = await shop.seller("Alice")
    payments = shop.client.payments
    grouped = await payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method="pm_card_visa",
            confirm=True,
            transfer_group="ORDER_12",
        )
    )
    plain = await payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=5000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
    )

    first = await transfer(shop, 1000, seller, source_transaction=grouped.latest_charge)
    assert first.transfer_group == "ORDER_12"
    own = await transfer(shop, 500, seller, source_transaction=grouped.id, transfer_group="MINE")
    assert own.transfer_group == "MINE"
    made = await transfer(shop, 100, seller, source_transaction=plain.id, key="tg-made")
    assert made.transfer_group == "group_" + plain.id
    assert made == await transfer(shop, 100, seller, source_transaction=plain.id, key="tg-made")
    got = await payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=plain.id))
    assert got.transfer_group == "group_" + plain.id
    charge = await payments.GetCharge(P.GetChargeRequest(id=plain.latest_charge))
    assert charge.transfer_group == "group_" + plain.id
    again = await transfer(shop, 100, seller, source_transaction=plain.id)
    assert again.transfer_group == "group_" + plain.id
    by_group = await shop.client.payouts.ListTransfers(
        payout_pb2.ListTransfersRequest(transfer_group="group_" + plain.id)
    )
    assert [found.id for found in by_group.data] == [again.id, made.id]
    ordered = await shop.client.payouts.ListTransfers(
        payout_pb2.ListTransfersRequest(transfer_group="ORDER_12")
    )
    assert [found.id for found in ordered.data] == [first.id]
    await assert_books(shop, seller)
    await shop.close()
