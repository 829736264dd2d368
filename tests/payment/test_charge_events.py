"""Stripe's charge.* events: charge.succeeded / charge.failed with the intent's completion,
charge.captured with a manual capture's, charge.refunded with each refund's, each carrying the
Charge as GetCharge renders it, once per change (a replayed request records nothing more)."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import event_pb2, payment_pb2

from tests.payment.shop import PayIn, Shop, good_card

P = payment_pb2


async def _charge_events(shop: Shop, event_type: str) -> list[P.Charge]:
    """The charges of the merchant's events of that type, oldest first."""
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type=event_type, limit=100)
    )
    found = []
    for event in reversed(listed.data):
        charge = P.Charge()
        assert event.data.object.Unpack(charge), event.data.object.type_url
        found.append(charge)
    return found


async def _charge(shop: Shop, charge_id: str) -> P.Charge:
    return await shop.client.payments.GetCharge(P.GetChargeRequest(id=charge_id))


async def test_a_charge_that_succeeds_records_charge_succeeded_once(shop: Shop) -> None:
    request = P.CreatePaymentIntentRequest(
        amount=1000, currency="usd", payment_method=await shop.card(good_card()), confirm=True
    )
    metadata = (("idempotency-key", "charge-events-succeeded"),)
    intent = await shop.client.payments.CreatePaymentIntent(request, metadata=metadata)
    replayed = await shop.client.payments.CreatePaymentIntent(request, metadata=metadata)
    assert replayed.id == intent.id  # a replay records no second event

    (event,) = await _charge_events(shop, "charge.succeeded")
    charge = await _charge(shop, intent.latest_charge)

    assert event.id == intent.latest_charge
    # The capture's balance transaction, posted after the event is written (the ledger last)
    # under the id its completion named before: the event's charge is GetCharge's, with it.
    assert charge.balance_transaction.startswith("txn_")
    assert event == charge
    assert (event.captured, event.amount_captured, event.payment_intent) == (True, 1000, intent.id)
    assert event.payment_method_details.card.last4


async def test_a_declined_charge_records_charge_failed(shop: Shop) -> None:
    declined = await shop.pay(cards.CARD_INSUFFICIENT_FUNDS, 700)

    (event,) = await _charge_events(shop, "charge.failed")
    (charge,) = (
        await shop.client.payments.ListCharges(P.ListChargesRequest(payment_intent=declined.id))
    ).data

    assert event == charge
    assert (event.status, event.failure_code) == (P.CHARGE_STATUS_FAILED, "card_declined")
    assert await _charge_events(shop, "charge.succeeded") == []


async def test_an_authorization_succeeds_then_its_capture_records_charge_captured(
    shop: Shop,
) -> None:
    held = await shop.pay(good_card(), 1000, manual=True)
    (authorized,) = await _charge_events(shop, "charge.succeeded")
    assert await _charge_events(shop, "charge.captured") == []

    await shop.client.payments.CapturePaymentIntent(
        P.CapturePaymentIntentRequest(id=held.id, amount_to_capture=600)
    )

    (captured,) = await _charge_events(shop, "charge.captured")
    charge = await _charge(shop, held.latest_charge)
    assert (authorized.id, authorized.captured, authorized.amount_captured) == (
        held.latest_charge,
        False,
        0,
    )
    assert authorized.payment_method_details.card.last4
    assert (captured.id, captured.captured, captured.amount_captured) == (charge.id, True, 600)
    assert captured.created == charge.created
    assert captured.payment_method_details == charge.payment_method_details
    assert not authorized.balance_transaction  # nothing captured yet
    assert captured.balance_transaction == charge.balance_transaction
    assert charge.balance_transaction.startswith("txn_")
    assert len(await _charge_events(shop, "charge.succeeded")) == 1


async def test_each_refund_records_charge_refunded_with_its_refunds(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1000)

    first = await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=intent.id, amount=300)
    )
    rest = await shop.client.payments.CreateRefund(P.CreateRefundRequest(payment_intent=intent.id))

    partly, fully = await _charge_events(shop, "charge.refunded")
    assert (partly.id, partly.amount_refunded, partly.refunded) == (
        intent.latest_charge,
        300,
        False,
    )
    assert [refund.id for refund in partly.refunds] == [first.id]
    assert (fully.amount_refunded, fully.refunded) == (1000, True)
    assert [refund.id for refund in fully.refunds] == [rest.id, first.id]
    assert fully == await _charge(shop, intent.latest_charge)
    await shop.assert_books_balance()


async def test_each_change_of_a_refund_records_charge_refund_updated(shop: Shop) -> None:
    """Stripe's older name for refund.updated: written beside it (and beside refund.failed),
    carrying the refund."""
    intent = await shop.pay(good_card(), 1000)
    refund = await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=intent.id, amount=300)
    )
    await shop.client.payments.UpdateRefund(
        P.UpdateRefundRequest(id=refund.id, metadata={"reason": "late"})
    )

    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="charge.refund.updated", limit=100)
    )
    found = []
    for event in reversed(listed.data):
        message = P.Refund()
        assert event.data.object.Unpack(message), event.data.object.type_url
        found.append((message.id, message.status, dict(message.metadata)))
    assert found == [
        (refund.id, P.REFUND_STATUS_SUCCEEDED, {}),
        (refund.id, P.REFUND_STATUS_SUCCEEDED, {"reason": "late"}),
    ]


async def test_an_execution_resumed_by_the_worker_records_charge_succeeded_once(
    shop: Shop, payin: PayIn
) -> None:
    """The PSP's answer lost: the worker resumes the execution (a status query finds the
    charge), and its completion records the charge's event once."""
    intent = await shop.pay(cards.CARD_ANSWER_LOST, 1200)  # settled by the worker's pass
    await payin.run_worker_once()

    assert intent.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    (event,) = await _charge_events(shop, "charge.succeeded")
    assert (event.id, event.amount_captured) == (intent.latest_charge, 1200)


async def test_a_destination_charges_event_names_its_balance_transaction(shop: Shop) -> None:
    """The capture of a destination charge is booked by PayInLedger.capture (not the group's
    capture_together): its event names the same balance transaction as GetCharge."""
    seller = await shop.seller()
    intent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=5000,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=500,
        )
    )

    (event,) = await _charge_events(shop, "charge.succeeded")
    charge = await _charge(shop, intent.latest_charge)
    assert charge.balance_transaction.startswith("txn_")
    assert event == charge
    await shop.assert_books_balance()


async def test_a_failed_refund_records_refund_updated_beside_refund_failed(
    shop: Shop, payin: PayIn
) -> None:
    """Stripe sends refund.updated with refund.failed (the refund's status changed): its
    previous_attributes the pending status. The charge is refunded at the PSP behind paycore's
    back, so paycore's own refund of it is refused there and fails."""
    intent = await shop.pay(good_card(), 1000)
    await payin.platform.pay_in.psp.refund(
        idempotency_key="behind-paycores-back", charge=intent.latest_charge, amount=1000
    )
    refund = await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=intent.id)
    )
    await payin.run_worker_once()
    failed = await shop.client.payments.GetRefund(P.GetRefundRequest(id=refund.id))
    assert failed.status == P.REFUND_STATUS_FAILED

    kinds = {}
    for kind in ("refund.updated", "refund.failed", "charge.refund.updated"):
        listed = await shop.client.events.ListEvents(
            event_pb2.ListEventsRequest(type=kind, limit=100)
        )
        kinds[kind] = list(listed.data)
    for kind, found in kinds.items():
        assert len(found) == 1, kind
        message = P.Refund()
        assert found[0].data.object.Unpack(message), kind
        assert (message.id, message.status) == (refund.id, P.REFUND_STATUS_FAILED), kind
    updated = kinds["refund.updated"][0]
    assert updated.data.HasField("previous_attributes")
    assert dict(updated.data.previous_attributes)["status"] == "pending"
    await shop.assert_books_balance()
