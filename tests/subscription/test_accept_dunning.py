"""Acceptance (issue 7): a card that starts declining walks the subscription through past_due
and the retries on the schedule (by default 3, 5 and 7 days after the previous failure), then
to canceled (the default) or unpaid (MARK_UNPAID); a new payment method during past_due is
retried at once and the subscription recovers.

Declines come from the simulator's test cards. Invoice charges are off-session and not scored
for fraud (paycore/payment/off_session.py), so the decline counters per card fingerprint,
shared by the whole test run, do not turn a decline into a block here.
"""

from __future__ import annotations

import grpc
import pytest
from paycore.client import idempotency_key
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    HOUR,
    Billing,
    add_months,
    captured,
    net,
    open_billing,
    psp_charges,
    utc,
)

S = subscription_pb2
START = utc(2028, 5, 1, 8)
END = add_months(START, 1)
AMOUNT = 2500


async def _past_due(
    payin: PayIn, shop: Shop, psp: PspSimulator, declining: str, *, on_customer: bool = False
) -> tuple[Billing, subscription_pb2.Subscription, subscription_pb2.Invoice]:
    """A subscription paid for its first period whose card then declines: the renewal at END
    fails. `on_customer` bills the customer's invoice default instead of the subscription's."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    if on_customer:
        await billing.set_customer_default(billing.card)
        created = await billing.subscribe([(price, 1)], payment_method="")
    else:
        created = await billing.subscribe([(price, 1)])
    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE, created
    bad = await billing.card_of_customer(declining)
    if on_customer:
        await billing.set_customer_default(bad)
    else:
        await billing.update(created.id, default_payment_method=bad)
    await billing.advance(END)
    subscription = await billing.subscription(created.id)
    assert subscription.status == S.SUBSCRIPTION_STATUS_PAST_DUE, subscription
    renewal = await billing.invoice(subscription.latest_invoice)
    assert (renewal.period_start, renewal.period_end) == (END, add_months(START, 2))
    assert renewal.status == S.INVOICE_STATUS_OPEN, renewal
    assert (renewal.attempt_count, renewal.amount_paid, renewal.amount_due) == (1, 0, AMOUNT)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=renewal.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD, intent
    assert intent.amount_received == 0
    return billing, subscription, renewal


async def test_retries_follow_the_default_schedule_then_the_subscription_is_canceled(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    # The card is the customer's invoice default (the other tests: the subscription's own).
    billing, subscription, renewal = await _past_due(
        payin, shop, psp, cards.CARD_INSUFFICIENT_FUNDS, on_customer=True
    )
    # First failure on day 0; retries 3, 5 and 7 days after the previous failure.
    assert renewal.next_payment_attempt == END + 3 * DAY
    for attempt, (at, following) in enumerate(
        [(END + 3 * DAY, END + 8 * DAY), (END + 8 * DAY, END + 15 * DAY)], start=2
    ):
        await billing.advance(at - HOUR)  # not yet
        assert (await billing.invoice(renewal.id)).attempt_count == attempt - 1
        await billing.advance(at)
        retried = await billing.invoice(renewal.id)
        assert (retried.status, retried.attempt_count) == (S.INVOICE_STATUS_OPEN, attempt)
        assert retried.next_payment_attempt == following, (attempt, retried)
        current = await billing.subscription(subscription.id)
        assert current.status == S.SUBSCRIPTION_STATUS_PAST_DUE

    await billing.advance(END + 15 * DAY)  # the last retry fails too

    final = await billing.invoice(renewal.id)
    assert (final.status, final.attempt_count) == (S.INVOICE_STATUS_UNCOLLECTIBLE, 4)
    assert (final.next_payment_attempt, final.amount_paid) == (0, 0)
    canceled = await billing.subscription(subscription.id)
    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.ended_at == END + 15 * DAY
    # Nothing more is billed.
    await billing.advance(add_months(START, 3) + DAY)
    assert len(await billing.invoices(subscription.id)) == 2
    assert [charge.amount for charge in captured(billing.psp)] == [AMOUNT]
    assert await billing.event_count("invoice.payment_failed") == 4
    assert await billing.event_count("customer.subscription.deleted") == 1
    assert await billing.event_count("invoice.marked_uncollectible") == 1
    await billing.assert_books(net([AMOUNT]))


async def test_one_long_advance_runs_every_retry_in_order(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_INCORRECT_CVC)

    await billing.advance(END + 20 * DAY)

    final = await billing.invoice(renewal.id)
    assert (final.status, final.attempt_count) == (S.INVOICE_STATUS_UNCOLLECTIBLE, 4)
    canceled = await billing.subscription(subscription.id)
    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.ended_at == END + 15 * DAY  # when the last retry was due, not the target
    await billing.assert_books(net([AMOUNT]))


async def test_a_dunning_cancel_clears_a_pending_cancel_at_period_end(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, _ = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, at_period_end=True)
    )

    await billing.advance(END + 20 * DAY)  # the last retry fails before the period's end

    canceled = await billing.subscription(subscription.id)
    # Ended by the final action, not at its period end: false, as after a cancel now.
    assert (canceled.status, canceled.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, END + 15 * DAY)
    assert not canceled.cancel_at_period_end
    await billing.assert_books(net([AMOUNT]))


async def test_with_mark_unpaid_and_a_shorter_schedule_the_subscription_ends_unpaid(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    settings = await shop.client.subscriptions.UpdateBillingSettings(
        S.UpdateBillingSettingsRequest(
            retry_schedule_days=[1, 2], final_action=S.DUNNING_FINAL_ACTION_MARK_UNPAID
        )
    )
    assert (list(settings.retry_schedule_days), settings.final_action) == (
        [1, 2],
        S.DUNNING_FINAL_ACTION_MARK_UNPAID,
    )
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    assert renewal.next_payment_attempt == END + 1 * DAY
    await billing.advance(END + 1 * DAY)
    retried = await billing.invoice(renewal.id)
    assert (retried.attempt_count, retried.next_payment_attempt) == (2, END + 3 * DAY)

    await billing.advance(END + 3 * DAY)

    final = await billing.invoice(renewal.id)
    assert (final.status, final.attempt_count) == (S.INVOICE_STATUS_OPEN, 3)
    assert final.next_payment_attempt == 0
    unpaid = await billing.subscription(subscription.id)
    assert (unpaid.status, unpaid.ended_at) == (S.SUBSCRIPTION_STATUS_UNPAID, 0)
    # While unpaid, renewals charge nobody.
    attempts = len(psp_charges(psp))
    await billing.advance(add_months(START, 2) + DAY)
    assert len(psp_charges(psp)) == attempts
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_UNPAID
    # As docs/subscriptions.md says ("Statuses"): the renewal is a draft, without a number.
    later = (await billing.invoices(subscription.id))[2]
    assert (later.period_start, later.status, later.number) == (
        add_months(START, 2),
        S.INVOICE_STATUS_DRAFT,
        "",
    )

    # Paying the open invoice with a good card makes it active again.
    good = await billing.card_of_customer()
    paid = await billing.api.PayInvoice(S.PayInvoiceRequest(id=renewal.id, payment_method=good))
    paid = await billing.wait_invoice(paid.id, S.INVOICE_STATUS_PAID)
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    await billing.assert_books(net([AMOUNT, AMOUNT]))


@pytest.mark.parametrize("on_customer", [False, True], ids=["subscription", "customer"])
async def test_a_new_payment_method_during_past_due_is_retried_at_once_and_recovers(
    payin: PayIn, shop: Shop, psp: PspSimulator, on_customer: bool
) -> None:
    declining = cards.CARD_EXPIRED if on_customer else cards.CARD_DECLINED
    billing, subscription, renewal = await _past_due(
        payin, shop, psp, declining, on_customer=on_customer
    )
    good = await billing.card_of_customer()

    if on_customer:
        await billing.set_customer_default(good)
    else:
        await billing.update(subscription.id, default_payment_method=good)

    # At once: the clock does not move.
    recovered = await billing.wait_invoice(renewal.id, S.INVOICE_STATUS_PAID)
    assert (recovered.status, recovered.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    assert recovered.next_payment_attempt == 0
    assert await billing.now() == END
    active = await billing.subscription(subscription.id)
    assert active.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    # The retry the schedule had planned does not happen.
    attempts = len(psp_charges(psp))
    await billing.advance(END + 3 * DAY + HOUR)
    assert len(psp_charges(psp)) == attempts
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_billing_settings_have_defaults_and_refuse_a_bad_schedule(shop: Shop) -> None:
    api = shop.client.subscriptions
    defaults = await api.GetBillingSettings(S.GetBillingSettingsRequest())
    assert (list(defaults.retry_schedule_days), defaults.final_action) == (
        [3, 5, 7],
        S.DUNNING_FINAL_ACTION_CANCEL,
    )
    for days in ([0], [31], [3, -1], [1] * 9):
        error = await failure(
            api.UpdateBillingSettings(
                S.UpdateBillingSettingsRequest(
                    retry_schedule_days=days, final_action=S.DUNNING_FINAL_ACTION_CANCEL
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert error.param == "retry_schedule_days", (days, error)
    unchanged = await api.GetBillingSettings(S.GetBillingSettingsRequest())
    assert unchanged == defaults


async def test_a_first_invoice_unpaid_for_23_hours_expires_the_incomplete_subscription(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    bad = await billing.card_of_customer(cards.CARD_EXPIRED)

    created = await billing.subscribe([(price, 1)], payment_method=bad)

    assert created.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    first = await billing.invoice(created.latest_invoice)
    assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_OPEN, 0)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=first.payment_intent)
    )
    assert intent.last_payment_error.decline_code == "expired_card", intent
    await billing.advance(START + 23 * HOUR - 1)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    await billing.advance(START + 23 * HOUR)
    expired = await billing.subscription(created.id)
    assert expired.status == S.SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED
    assert (await billing.invoice(first.id)).status == S.INVOICE_STATUS_VOID
    assert await billing.event_count("invoice.voided") == 1
    await billing.advance(add_months(START, 2))
    assert len(await billing.invoices(created.id)) == 1
    assert captured(psp) == []
    await billing.assert_books(0)


async def test_an_incomplete_subscription_paid_within_23_hours_becomes_active(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    bad = await billing.card_of_customer(cards.CARD_EXPIRED)
    created = await billing.subscribe([(price, 1)], payment_method=bad)
    assert created.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    await billing.advance(START + 22 * HOUR)
    good = await billing.card_of_customer()

    paid = await billing.api.PayInvoice(
        S.PayInvoiceRequest(id=created.latest_invoice, payment_method=good)
    )

    paid = await billing.wait_invoice(paid.id, S.INVOICE_STATUS_PAID)
    assert (paid.status, paid.amount_paid, paid.period_start) == (
        S.INVOICE_STATUS_PAID,
        AMOUNT,
        START,
    )
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    # PayInvoice's card paid that invoice only; the renewal charges the subscription's default.
    await billing.update(created.id, default_payment_method=good)
    # Still active after the 23 hours, and renewed on the anchor (the creation, not the payment).
    await billing.advance(END)
    renewed = await billing.subscription(created.id)
    assert (renewed.status, renewed.current_period_start) == (S.SUBSCRIPTION_STATUS_ACTIVE, END)
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_canceling_a_past_due_subscription_stops_its_retries(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    await billing.advance(END + DAY)

    canceled = await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=subscription.id))

    assert (canceled.status, canceled.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, END + DAY)
    attempts = len(psp_charges(psp))
    await billing.advance(END + 20 * DAY)
    assert len(psp_charges(psp)) == attempts  # no retry on days 3, 8, 15
    assert (await billing.invoice(renewal.id)).attempt_count == 1
    assert len(await billing.invoices(subscription.id)) == 2
    await billing.assert_books(net([AMOUNT]))


async def test_a_new_card_that_declines_too_leaves_the_schedule_where_it_was(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    await billing.advance(END + DAY)
    another_bad = await billing.card_of_customer(cards.CARD_INSUFFICIENT_FUNDS)
    attempts = len(psp_charges(psp))

    await billing.update(subscription.id, default_payment_method=another_bad)

    await billing.settle()
    tried = await billing.invoice(renewal.id)
    assert len(psp_charges(psp)) == attempts + 1  # retried at once, with the new card
    assert (tried.status, tried.attempt_count) == (S.INVOICE_STATUS_OPEN, 2)
    # An attempt that was asked for moves no schedule (docs/subscriptions.md, "Dunning").
    assert tried.next_payment_attempt == END + 3 * DAY
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
    await billing.advance(END + 3 * DAY)
    assert (await billing.invoice(renewal.id)).next_payment_attempt == END + 8 * DAY
    await billing.assert_books(net([AMOUNT]))


async def test_paying_with_a_card_that_declines_is_a_card_error_and_the_invoice_stays_open(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    await billing.advance(END + DAY)
    another_bad = await billing.card_of_customer(cards.CARD_INSUFFICIENT_FUNDS)
    attempts = len(psp_charges(psp))
    request = S.PayInvoiceRequest(id=renewal.id, payment_method=another_bad)

    # As Stripe answers a declined invoice payment (402 card_declined on its REST API).
    declined = await failure(
        billing.api.PayInvoice(request, metadata=idempotency_key("pay-1")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    again = await failure(
        billing.api.PayInvoice(request, metadata=idempotency_key("pay-1")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )

    assert declined.reason == "CARD_DECLINED", declined
    assert declined.metadata["decline_code"] == "insufficient_funds", declined
    assert (again.reason, again.message, again.metadata) == (
        declined.reason,
        declined.message,
        declined.metadata,
    )
    assert len(psp_charges(psp)) == attempts + 1  # tried once, whatever the replays
    tried = await billing.invoice(renewal.id)
    assert (tried.status, tried.attempt_count) == (S.INVOICE_STATUS_OPEN, 2)
    assert declined.metadata["payment_intent"] == tried.payment_intent
    # An attempt that was asked for moves no schedule (docs/subscriptions.md, "Dunning").
    assert tried.next_payment_attempt == END + 3 * DAY
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
    assert await billing.event_count("invoice.payment_failed") == 2
    await billing.assert_books(net([AMOUNT]))


async def test_a_declined_invoice_payment_has_the_decline_s_own_code_as_an_intent_s_error(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, _, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    # The codes a declined CreatePaymentIntent gives its last_payment_error for these cards
    # (paycore.payment.completion): Stripe's own code where it has one, else card_declined.
    expected = {
        cards.CARD_DECLINED: ("card_declined", "generic_decline"),
        cards.CARD_INSUFFICIENT_FUNDS: ("card_declined", "insufficient_funds"),
        cards.CARD_EXPIRED: ("expired_card", "expired_card"),
        cards.CARD_INCORRECT_CVC: ("incorrect_cvc", "incorrect_cvc"),
        cards.CARD_PROCESSING_ERROR: ("processing_error", "processing_error"),
    }
    answered = {}
    for number in expected:
        card = await billing.card_of_customer(number)
        declined = await failure(
            billing.api.PayInvoice(S.PayInvoiceRequest(id=renewal.id, payment_method=card)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert declined.reason == "CARD_DECLINED", declined
        answered[number] = (declined.metadata.get("code"), declined.metadata.get("decline_code"))

    assert answered == expected
    assert (await billing.invoice(renewal.id)).attempt_count == 1 + len(expected)


async def test_paying_with_no_payment_method_anywhere_is_refused_and_counts_no_attempt(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)], payment_method="", trial_period_days=3)
    await billing.advance(START + 3 * DAY)  # the trial ends; its invoice finds nothing to charge
    first = (await billing.invoices(created.id))[-1]
    assert (first.status, first.attempt_count) == (S.INVOICE_STATUS_OPEN, 1), first
    events = await billing.event_count("invoice.payment_failed")
    charges = len(psp_charges(psp))
    request = S.PayInvoiceRequest(id=first.id)

    refused = await failure(
        billing.api.PayInvoice(request, metadata=idempotency_key("pay-none-1")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    again = await failure(
        billing.api.PayInvoice(request, metadata=idempotency_key("pay-none-1")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )

    assert refused.param == "payment_method", refused
    assert "no attached payment source or default payment method" in refused.message, refused
    assert (again.reason, again.param, again.message) == (
        refused.reason,
        refused.param,
        refused.message,
    )
    unchanged = await billing.invoice(first.id)
    assert (unchanged.status, unchanged.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
    assert unchanged.next_payment_attempt == first.next_payment_attempt
    assert await billing.event_count("invoice.payment_failed") == events
    assert len(psp_charges(psp)) == charges


async def test_an_invoice_is_paid_with_a_test_payment_method_as_an_intent_is(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    unknown = await failure(
        billing.api.PayInvoice(S.PayInvoiceRequest(id=renewal.id, payment_method="pm_card_x")),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert unknown.param == "payment_method", unknown
    declined = await failure(
        billing.api.PayInvoice(
            S.PayInvoiceRequest(id=renewal.id, payment_method="pm_card_chargeDeclined")
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert declined.reason == "CARD_DECLINED", declined

    paid = await billing.api.PayInvoice(
        S.PayInvoiceRequest(id=renewal.id, payment_method="pm_card_visa")
    )

    paid = await billing.wait_invoice(paid.id, S.INVOICE_STATUS_PAID)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == (
        S.INVOICE_STATUS_PAID,
        AMOUNT,
        3,
    )
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=paid.payment_intent)
    )
    # A new payment method of the test card, as CreatePaymentIntent makes one.
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_an_unpaid_subscription_recovers_with_a_new_card_and_its_draft_is_then_collected(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    await shop.client.subscriptions.UpdateBillingSettings(
        S.UpdateBillingSettingsRequest(
            retry_schedule_days=[2], final_action=S.DUNNING_FINAL_ACTION_MARK_UNPAID
        )
    )
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    await billing.advance(add_months(START, 2) + HOUR)  # the retry fails; the next renewal
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_UNPAID
    draft = (await billing.invoices(subscription.id))[2]
    assert (draft.status, draft.number) == (S.INVOICE_STATUS_DRAFT, "")
    good = await billing.card_of_customer()

    await billing.update(subscription.id, default_payment_method=good)

    recovered = await billing.wait_invoice(renewal.id, S.INVOICE_STATUS_PAID)
    assert (recovered.status, recovered.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    assert (await billing.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    collected = await billing.api.PayInvoice(S.PayInvoiceRequest(id=draft.id))
    collected = await billing.wait_invoice(collected.id, S.INVOICE_STATUS_PAID)
    assert (collected.status, collected.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    numbers = [each.number for each in await billing.invoices(subscription.id)]
    assert [int(number.rsplit("-", 1)[1]) for number in numbers] == [1, 2, 3]
    await billing.assert_books(net([AMOUNT] * 3))


async def test_a_declined_always_invoice_change_is_dunned_like_a_renewal(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    basic, premium = await billing.price(AMOUNT), await billing.price(2 * AMOUNT)
    created = await billing.subscribe([(basic, 1)])
    half = START + (END - START) // 2
    await billing.advance(half)
    bad = await billing.card_of_customer(cards.CARD_INCORRECT_CVC)
    await billing.update(created.id, default_payment_method=bad)

    changed = await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(id=created.items[0].id, price=premium)],
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    assert [item.price.id for item in changed.items] == [premium]
    await billing.settle()
    update = await billing.invoice(changed.latest_invoice)
    assert update.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    assert (update.status, update.attempt_count, update.amount_due) == (
        S.INVOICE_STATUS_OPEN,
        1,
        AMOUNT // 2,  # half a period: -AMOUNT / 2 + 2 * AMOUNT / 2
    )
    assert update.next_payment_attempt == half + 3 * DAY
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE
    good = await billing.card_of_customer()
    await billing.update(created.id, default_payment_method=good)
    paid = await billing.wait_invoice(update.id, S.INVOICE_STATUS_PAID)
    assert paid.amount_paid == AMOUNT // 2
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    await billing.assert_books(net([AMOUNT, AMOUNT // 2]))
