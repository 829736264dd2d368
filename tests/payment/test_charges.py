"""Charges (Stripe's, read-only): each PSP attempt of a payment intent, read by the PSP's
ch_ id (an intent's latest_charge) and listed by intent or customer, its money as the intent's
captures, refunds and cancellation left it; another merchant's is missing."""

from __future__ import annotations

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, good_card, open_shop

P = payment_pb2


async def _charge(shop: Shop, charge_id: str) -> P.Charge:
    return await shop.client.payments.GetCharge(P.GetChargeRequest(id=charge_id))


async def _charges(shop: Shop, **filters: object) -> P.ListChargesResponse:
    return await shop.client.payments.ListCharges(P.ListChargesRequest(**filters))  # type: ignore[arg-type]


async def test_a_confirmed_intent_s_latest_charge_reads_as_stripe_s_charge(shop: Shop) -> None:
    number = good_card()
    intent = await shop.pay(number, 1000)

    charge = await _charge(shop, intent.latest_charge)

    assert charge.id == intent.latest_charge and charge.id.startswith("ch_")
    assert charge.status == P.CHARGE_STATUS_SUCCEEDED
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (1000, 1000, 0)
    assert (charge.captured, charge.paid, charge.refunded, charge.disputed) == (
        True,
        True,
        False,
        False,
    )
    assert (charge.currency, charge.payment_intent) == ("usd", intent.id)
    assert charge.payment_method == intent.payment_method
    card = charge.payment_method_details.card
    assert (charge.payment_method_details.type, card.brand, card.last4) == (
        "card",
        "visa",
        number[-4:],
    )
    assert (card.exp_month, card.exp_year, card.funding) == (12, 2031, "unknown")  # as stored
    assert charge.balance_transaction.startswith("txn_")
    assert (charge.outcome.type, charge.outcome.network_status) == (
        "authorized",
        "approved_by_network",
    )
    assert charge.outcome.risk_level == "normal"
    assert charge.outcome.seller_message == "Payment complete."
    assert (charge.failure_code, charge.failure_message) == ("", "")
    assert charge.created >= intent.created
    await shop.assert_books_balance()


async def test_refunds_show_on_the_charge_partial_then_full(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1000)

    first = await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=intent.id, amount=300)
    )
    partly = await _charge(shop, intent.latest_charge)
    rest = await shop.client.payments.CreateRefund(P.CreateRefundRequest(payment_intent=intent.id))
    fully = await _charge(shop, intent.latest_charge)

    assert (partly.amount_refunded, partly.refunded) == (300, False)
    assert [refund.id for refund in partly.refunds] == [first.id]
    assert (fully.amount_refunded, fully.refunded) == (1000, True)
    assert [refund.id for refund in fully.refunds] == [rest.id, first.id]
    await shop.assert_books_balance()


async def test_a_declined_attempt_is_a_failed_charge_of_its_intent(shop: Shop) -> None:
    declined = await shop.pay(cards.CARD_INSUFFICIENT_FUNDS, 700)
    assert declined.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD

    (failed,) = (await _charges(shop, payment_intent=declined.id)).data
    paid = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=declined.id, payment_method=await shop.card(good_card()))
    )
    listed = await _charges(shop, payment_intent=declined.id)

    assert failed.status == P.CHARGE_STATUS_FAILED and failed.id.startswith("ch_")
    assert (failed.paid, failed.captured, failed.amount_captured) == (False, False, 0)
    assert (failed.failure_code, failed.outcome.reason) == ("card_declined", "insufficient_funds")
    assert failed.failure_message
    assert (failed.outcome.type, failed.outcome.network_status) == (
        "issuer_declined",
        "declined_by_network",
    )
    assert not failed.balance_transaction
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert [charge.id for charge in listed.data] == [paid.latest_charge, failed.id]
    assert [charge.status for charge in listed.data] == [
        P.CHARGE_STATUS_SUCCEEDED,
        P.CHARGE_STATUS_FAILED,
    ]
    assert (await _charge(shop, failed.id)) == failed
    await shop.assert_books_balance()


async def test_an_authorization_captured_in_part_and_one_canceled(shop: Shop) -> None:
    captured = await shop.pay(good_card(), 1000, manual=True)
    canceled = await shop.pay(good_card(), 400, manual=True)

    held = await _charge(shop, captured.latest_charge)
    await shop.client.payments.CapturePaymentIntent(
        P.CapturePaymentIntentRequest(id=captured.id, amount_to_capture=600)
    )
    taken = await _charge(shop, captured.latest_charge)
    await shop.client.payments.CancelPaymentIntent(P.CancelPaymentIntentRequest(id=canceled.id))
    voided = await _charge(shop, canceled.latest_charge)

    assert (held.status, held.paid, held.captured, held.amount_captured) == (
        P.CHARGE_STATUS_SUCCEEDED,
        True,
        False,
        0,
    )
    assert not held.balance_transaction
    assert (taken.amount, taken.amount_captured, taken.captured) == (1000, 600, True)
    assert taken.balance_transaction.startswith("txn_")
    assert (voided.captured, voided.refunded, voided.amount_refunded) == (False, True, 400)
    await shop.assert_books_balance()


async def test_lists_by_customer_newest_first_paged_both_ways(shop: Shop) -> None:
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="buyer@shop.test")
    )
    card = await shop.card(good_card(), customer.id)
    intents = []
    for amount in (1000, 1100, 1200):
        intents.append(
            await shop.client.payments.CreatePaymentIntent(
                P.CreatePaymentIntentRequest(
                    amount=amount,
                    currency="usd",
                    customer=customer.id,
                    payment_method=card,
                    confirm=True,
                )
            )
        )
    await shop.pay(good_card(), 999)  # no customer's
    assert [intent.status for intent in intents] == [P.PAYMENT_INTENT_STATUS_SUCCEEDED] * 3, intents
    newest_first = [intent.latest_charge for intent in reversed(intents)]

    everyone = await _charges(shop)
    theirs = await _charges(shop, customer=customer.id)
    first = await _charges(shop, customer=customer.id, limit=2)
    after = await _charges(shop, customer=customer.id, starting_after=first.data[-1].id)
    before = await _charges(shop, customer=customer.id, ending_before=newest_first[2], limit=1)

    assert len(everyone.data) == 4
    assert [charge.id for charge in theirs.data] == newest_first
    assert {charge.customer for charge in theirs.data} == {customer.id}
    assert ([charge.id for charge in first.data], first.has_more) == (newest_first[:2], True)
    assert ([charge.id for charge in after.data], after.has_more) == (newest_first[2:], False)
    assert ([charge.id for charge in before.data], before.has_more) == ([newest_first[1]], True)


async def test_missing_charges_and_filters_are_resource_missing(shop: Shop, payin: PayIn) -> None:
    other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        theirs = await other.pay(good_card(), 500)
    finally:
        await other.close()

    for charge_id in ("ch_NoSuchCharge1234567890", theirs.latest_charge):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _charge(shop, charge_id)
        error = rich_error(raised.value)
        assert (error.code, error.reason, error.metadata["param"]) == (
            grpc.StatusCode.NOT_FOUND,
            "RESOURCE_MISSING",
            "id",
        )
    for filters, param in (
        ({"payment_intent": theirs.id}, "payment_intent"),
        ({"starting_after": theirs.latest_charge}, "starting_after"),
        ({"ending_before": "ch_NoSuchCharge1234567890"}, "ending_before"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _charges(shop, **filters)
        error = rich_error(raised.value)
        assert (error.code, error.reason, error.metadata["param"]) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "RESOURCE_MISSING",
            param,
        )
    for bad, param in (("pi_123", "id"), ("ch_bad-id", "id")):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _charge(shop, bad)
        assert rich_error(raised.value).reason == "ID_MALFORMED"
        assert rich_error(raised.value).metadata["param"] == param


async def test_capture_charge_captures_its_intent_and_answers_the_charge(shop: Shop) -> None:
    authorized = await shop.pay(good_card(), 1200, manual=True)
    declined = await shop.pay(cards.CARD_DECLINED, 700, manual=True)
    [failed] = (
        await shop.client.payments.ListCharges(
            payment_pb2.ListChargesRequest(payment_intent=declined.id)
        )
    ).data
    capture = shop.client.payments.CaptureCharge

    captured = await capture(
        payment_pb2.CaptureChargeRequest(id=authorized.latest_charge, amount=500)
    )

    assert (captured.id, captured.captured, captured.amount_captured) == (
        authorized.latest_charge,
        True,
        500,
    )
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=authorized.id)
    )
    assert (intent.status, intent.amount_received) == (
        payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED,
        500,
    )
    for charge_id, reason, code in (
        (authorized.latest_charge, "CHARGE_ALREADY_CAPTURED", grpc.StatusCode.FAILED_PRECONDITION),
        (failed.id, "PARAMETER_INVALID", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await capture(payment_pb2.CaptureChargeRequest(id=charge_id))
        assert raised.value.code() == code
        assert (rich_error(raised.value).reason, rich_error(raised.value).metadata["param"]) == (
            reason,
            "id",
        )
    await shop.assert_books_balance()
