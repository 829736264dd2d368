"""Acceptance (issue 7): a trial converts. The subscription is trialing until trial_end (a
zero-amount paid invoice for the trial, no charge), then the first real invoice is paid, the
subscription is active and its periods are anchored at trial_end."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    add_months,
    captured,
    item_lines,
    net,
    open_billing,
    psp_charges,
    utc,
)

S = subscription_pb2
START = utc(2028, 3, 10, 9, 30)
TRIAL_DAYS = 14
TRIAL_END = START + TRIAL_DAYS * DAY


async def test_a_trial_converts_to_an_active_subscription_anchored_at_trial_end(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(2000)

    created = await billing.subscribe([(price, 1)], trial_period_days=TRIAL_DAYS)

    assert created.status == S.SUBSCRIPTION_STATUS_TRIALING
    assert (created.trial_start, created.trial_end) == (START, TRIAL_END)
    assert (created.current_period_start, created.current_period_end) == (START, TRIAL_END)
    assert created.billing_cycle_anchor == TRIAL_END
    (trial,) = await billing.invoices(created.id)
    assert trial.status == S.INVOICE_STATUS_PAID
    assert trial.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CREATE
    assert (trial.amount_due, trial.amount_paid, trial.total) == (0, 0, 0)
    assert (trial.period_start, trial.period_end) == (START, TRIAL_END)
    assert created.latest_invoice == trial.id
    assert captured(psp) == []

    # A second before the trial ends nothing has changed.
    await billing.advance(TRIAL_END - 1)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_TRIALING
    assert len(await billing.invoices(created.id)) == 1
    assert captured(psp) == []

    await billing.advance(TRIAL_END)

    converted = await billing.subscription(created.id)
    assert converted.status == S.SUBSCRIPTION_STATUS_ACTIVE
    first_end = add_months(TRIAL_END, 1)
    assert (converted.current_period_start, converted.current_period_end) == (
        TRIAL_END,
        first_end,
    )
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 2
    first = invoices[1]
    assert converted.latest_invoice == first.id
    assert first.status == S.INVOICE_STATUS_PAID
    assert first.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    assert (first.period_start, first.period_end) == (TRIAL_END, first_end)
    assert [(line.price, line.quantity, line.amount) for line in item_lines(first)] == [
        (price, 1, 2000)
    ]
    assert (first.amount_due, first.amount_paid) == (2000, 2000)
    assert [charge.amount for charge in captured(psp)] == [2000]

    # The next period starts a month after trial_end, not a month after the start.
    await billing.advance(first_end)
    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.period_end) for each in invoices[1:]] == [
        (TRIAL_END, first_end),
        (first_end, add_months(TRIAL_END, 2)),
    ]
    assert [each.status for each in invoices] == [S.INVOICE_STATUS_PAID] * 3
    assert [charge.amount for charge in captured(psp)] == [2000, 2000]
    await billing.assert_books(net([2000, 2000]))


async def test_a_trial_ending_on_a_declining_card_goes_past_due(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(2000)
    bad = await billing.card_of_customer(cards.CARD_EXPIRED)
    created = await billing.subscribe(
        [(price, 1)], trial_period_days=TRIAL_DAYS, payment_method=bad
    )
    assert created.status == S.SUBSCRIPTION_STATUS_TRIALING

    await billing.advance(TRIAL_END)

    subscription = await billing.subscription(created.id)
    assert subscription.status == S.SUBSCRIPTION_STATUS_PAST_DUE
    first = await billing.invoice(subscription.latest_invoice)
    assert (first.period_start, first.status, first.attempt_count) == (
        TRIAL_END,
        S.INVOICE_STATUS_OPEN,
        1,
    )
    assert first.next_payment_attempt == TRIAL_END + 3 * DAY
    assert captured(psp) == []
    await billing.assert_books(0)


async def test_a_change_during_the_trial_is_not_prorated_and_the_first_invoice_bills_it(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    basic, premium = await billing.price(2000), await billing.price(3500)
    created = await billing.subscribe([(basic, 1)], trial_period_days=TRIAL_DAYS)
    await billing.advance(START + 5 * DAY + 7)

    await billing.update(
        created.id,
        items=[
            subscription_pb2.UpdateSubscriptionRequest.Item(
                id=created.items[0].id, price=premium, quantity=2
            )
        ],
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    assert len(await billing.invoices(created.id)) == 1  # the trial's, nothing more
    assert captured(psp) == []
    await billing.advance(TRIAL_END)
    first = (await billing.invoices(created.id))[1]
    assert [(line.price, line.quantity, line.amount, line.proration) for line in first.lines] == [
        (premium, 2, 7000, False)
    ]
    assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_PAID, 7000)
    await billing.assert_books(net([7000]))


async def test_a_trial_canceled_at_period_end_ends_at_trial_end_without_a_charge(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(2000)
    created = await billing.subscribe([(price, 1)], trial_period_days=TRIAL_DAYS)
    await billing.advance(START + DAY)

    await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, at_period_end=True)
    )

    await billing.advance(TRIAL_END)
    ended = await billing.subscription(created.id)
    assert (ended.status, ended.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, TRIAL_END)
    await billing.advance(add_months(TRIAL_END, 1) + DAY)
    assert len(await billing.invoices(created.id)) == 1  # the trial's
    assert psp_charges(psp) == []
    await billing.assert_books(0)


async def test_stripes_card_that_attaches_then_declines_ends_a_trial_past_due(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """Stripe's dunning recipe: a trial on 4000000000000341 (`pm_card_chargeCustomerFail`),
    a card that attaches to the customer and whose every charge is declined."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(2000)
    by_number = await billing.card_of_customer("4000000000000341")
    attached = await shop.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(
            id="pm_card_chargeCustomerFail", customer=billing.customer
        )
    )
    assert attached.card.last4 == "0341"
    created = [
        await billing.subscribe([(price, 1)], trial_period_days=TRIAL_DAYS, payment_method=card)
        for card in (by_number, attached.id)
    ]
    assert [each.status for each in created] == [S.SUBSCRIPTION_STATUS_TRIALING] * 2
    await billing.advance(TRIAL_END)

    for each in created:
        subscription = await billing.subscription(each.id)
        assert subscription.status == S.SUBSCRIPTION_STATUS_PAST_DUE, subscription
        first = await billing.invoice(subscription.latest_invoice)
        assert (first.status, first.attempt_count) == (S.INVOICE_STATUS_OPEN, 1)
    assert captured(psp) == []
    await billing.assert_books(0)
