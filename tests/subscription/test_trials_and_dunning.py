"""Trials, failed payments and the dunning schedule on a test clock: a trial converts at its
end; a card that declines walks past_due -> retries 3, 8 and 15 days after the first failure ->
the merchant's final action; an incomplete subscription expires after 23 hours."""

from __future__ import annotations

from collections import Counter

from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, event_pb2, subscription_pb2

from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, Billed

DAY = 86_400
S = subscription_pb2


async def test_a_trial_converts_at_its_end_with_the_first_charge(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card())

    trialing = await billed.subscribe(trial_period_days=14)
    await billed.advance(JAN_31_2026 + 14 * DAY)

    assert trialing.status == S.SUBSCRIPTION_STATUS_TRIALING
    assert (trialing.trial_start, trialing.trial_end) == (JAN_31_2026, JAN_31_2026 + 14 * DAY)
    assert trialing.billing_cycle_anchor == trialing.trial_end
    trial, first = await billed.invoices(trialing.id)
    assert (trial.status, trial.amount_due, trial.payment_intent) == (
        S.INVOICE_STATUS_PAID,
        0,
        "",
    )
    assert (trial.period_start, trial.period_end) == (JAN_31_2026, trialing.trial_end)
    assert first.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
    assert first.period_start == trialing.trial_end
    converted = await billed.subscription(trialing.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert converted.current_period_start == trialing.trial_end
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_declining_card_walks_past_due_retries_then_cancel(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    subscription = await billed.subscribe(trial_period_days=7)
    trial_end = subscription.trial_end

    await billed.advance(trial_end)
    past_due = await billed.subscription(subscription.id)
    _, failing = await billed.invoices(subscription.id)
    assert past_due.status == S.SUBSCRIPTION_STATUS_PAST_DUE
    assert (failing.status, failing.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
    assert failing.next_payment_attempt == trial_end + 3 * DAY

    seen = []
    for day in (3, 8):
        await billed.advance(trial_end + day * DAY)
        invoice = (await billed.invoices(subscription.id))[1]
        seen.append((invoice.attempt_count, invoice.next_payment_attempt - trial_end))
    assert seen == [(2, 8 * DAY), (3, 15 * DAY)]
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE

    await billed.advance(trial_end + 15 * DAY)
    canceled = await billed.subscription(subscription.id)
    _, given_up = await billed.invoices(subscription.id)
    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.ended_at == trial_end + 15 * DAY
    assert (given_up.status, given_up.attempt_count, given_up.next_payment_attempt) == (
        S.INVOICE_STATUS_UNCOLLECTIBLE,
        4,
        0,
    )
    await billed.advance(trial_end + 60 * DAY)  # a canceled subscription never renews
    assert len(await billed.invoices(subscription.id)) == 2
    assert (await shop.balance())[1] == {"usd": 0}  # nothing moved: the default currency at 0
    await shop.assert_books_balance()


async def test_mark_unpaid_then_paying_with_a_new_card_reactivates(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    await shop.client.subscriptions.UpdateBillingSettings(
        S.UpdateBillingSettingsRequest(
            retry_schedule_days=[1], final_action=S.DUNNING_FINAL_ACTION_MARK_UNPAID
        )
    )
    subscription = await billed.subscribe(trial_period_days=1)

    await billed.advance(subscription.trial_end + DAY)
    unpaid = await billed.subscription(subscription.id)
    _, open_invoice = await billed.invoices(subscription.id)
    assert unpaid.status == S.SUBSCRIPTION_STATUS_UNPAID
    assert (open_invoice.status, open_invoice.attempt_count) == (S.INVOICE_STATUS_OPEN, 2)
    assert open_invoice.next_payment_attempt == 0

    card = await shop.card(good_card(), billed.customer)
    paid = await shop.client.subscriptions.PayInvoice(
        S.PayInvoiceRequest(id=open_invoice.id, payment_method=card)
    )
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_a_customers_new_default_card_is_retried_by_the_next_billing_pass(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    subscription = await billed.subscribe(trial_period_days=2, default_payment_method="")
    await shop.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=billed.customer,
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=billed.card),
        )
    )
    await billed.advance(subscription.trial_end)
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE

    card = await shop.card(good_card(), billed.customer)
    await shop.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=billed.customer,
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=card),
        )
    )
    await billed.advance(subscription.trial_end + 1)

    _, retried = await billed.invoices(subscription.id)
    assert (retried.status, retried.attempt_count) == (S.INVOICE_STATUS_PAID, 2)
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE


async def test_an_unpaid_first_invoice_expires_the_subscription_after_23_hours(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)

    incomplete = await billed.subscribe()
    await billed.advance(JAN_31_2026 + 23 * 3600 - 1)
    still = await billed.subscription(incomplete.id)
    await billed.advance(JAN_31_2026 + 23 * 3600)

    assert incomplete.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    assert still.status == S.SUBSCRIPTION_STATUS_INCOMPLETE
    expired = await billed.subscription(incomplete.id)
    (invoice,) = await billed.invoices(incomplete.id)
    assert expired.status == S.SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED
    assert expired.ended_at == JAN_31_2026 + 23 * 3600
    assert (invoice.status, invoice.attempt_count) == (S.INVOICE_STATUS_VOID, 1)
    await shop.assert_books_balance()


async def test_every_step_of_dunning_records_its_event(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    subscription = await billed.subscribe(trial_period_days=1)

    await billed.advance(subscription.trial_end + 15 * DAY)

    listed = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    kinds = [event.type for event in reversed(listed.data)]
    ours = [kind for kind in kinds if kind.startswith(("invoice.", "customer.subscription."))]
    # Counted, not ordered: ids order events by millisecond, and one transaction writes
    # several in the same one.
    assert Counter(ours) == Counter(
        [
            # the trial's zero invoice (paid, as Stripe's: invoice.paid with
            # invoice.payment_succeeded), then the subscription
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.created",
            # trial end: the renewal invoice, its failed charge, past_due
            "invoice.created",
            "invoice.finalized",
            "customer.subscription.updated",
            "invoice.payment_failed",
            "customer.subscription.updated",
            # three retries fail; the last one gives up
            "invoice.payment_failed",
            "invoice.payment_failed",
            "invoice.payment_failed",
            "invoice.marked_uncollectible",
            "customer.subscription.deleted",
        ]
    )
    assert kinds.index("customer.subscription.deleted") > kinds.index("invoice.created")


async def test_voiding_or_paying_out_of_band_ends_the_dunning(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    voided_sub = await billed.subscribe(trial_period_days=1)
    paid_sub = await billed.subscribe(trial_period_days=1)
    await billed.advance(voided_sub.trial_end)
    _, to_void = await billed.invoices(voided_sub.id)
    _, to_mark = await billed.invoices(paid_sub.id)

    voided = await shop.client.subscriptions.VoidInvoice(S.VoidInvoiceRequest(id=to_void.id))
    marked = await shop.client.subscriptions.PayInvoice(
        S.PayInvoiceRequest(id=to_mark.id, paid_out_of_band=True)
    )
    await billed.advance(voided_sub.trial_end + 20 * DAY)  # no retries are left to run

    assert (voided.status, voided.next_payment_attempt) == (S.INVOICE_STATUS_VOID, 0)
    assert (marked.status, marked.attempt_count) == (S.INVOICE_STATUS_PAID, 1)
    for subscription in (voided_sub, paid_sub):
        assert (await billed.subscription(subscription.id)).status == (S.SUBSCRIPTION_STATUS_ACTIVE)
    assert [i.attempt_count for i in await billed.invoices(voided_sub.id)] == [0, 1]
    assert (await shop.balance())[1] == {"usd": 0}  # out of band: no money through paycore
    await shop.assert_books_balance()
    # Paid out of band is invoice.paid alone: no payment attempt succeeded (Stripe's
    # invoice.payment_succeeded is for those).
    listed = await shop.client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    marked_events = [
        event.type
        for event in listed.data
        if event.type in ("invoice.paid", "invoice.payment_succeeded")
        and _invoice_id(event) == to_mark.id
    ]
    assert marked_events == ["invoice.paid"]


def _invoice_id(event: event_pb2.Event) -> str:
    invoice = S.Invoice()
    return invoice.id if event.data.object.Unpack(invoice) else ""
