"""Acceptance (issue 7): cancel at period end stops exactly at the end (no invoice after it,
ended_at = the period end); an immediate cancel ends the subscription now, optionally refunding
the unused part of the paid period by the proration rule."""

from __future__ import annotations

from paycore.client import idempotency_key
from paycore.v1 import event_pb2, payment_pb2, subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee
from tests.subscription.billing import (
    DAY,
    HOUR,
    Billing,
    add_months,
    captured,
    net,
    open_billing,
    psp_refunds,
    share,
    utc,
)

S = subscription_pb2
START = utc(2028, 8, 31, 15)
END = add_months(START, 1)  # Sep 30
AMOUNT = 4900


async def test_cancel_at_period_end_stops_exactly_at_the_end(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    requested = START + 10 * DAY
    await billing.advance(requested)

    canceling = await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, at_period_end=True)
    )

    assert canceling.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert canceling.cancel_at_period_end
    assert (canceling.canceled_at, canceling.ended_at) == (requested, 0)
    assert canceling.cancel_at == END  # Stripe's: when it is to cancel
    await billing.advance(END - 1)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    # Past the end in one step: it ended at the end, not when the clock got there.
    await billing.advance(END + 3 * DAY)
    ended = await billing.subscription(created.id)
    assert ended.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert ended.ended_at == END
    await billing.advance(add_months(START, 3) + HOUR)
    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.status) for each in invoices] == [
        (START, S.INVOICE_STATUS_PAID)
    ]
    assert [charge.amount for charge in captured(psp)] == [AMOUNT]
    assert await billing.event_count("customer.subscription.deleted") == 1
    await billing.assert_books(net([AMOUNT]))


async def test_cancel_now_ends_the_subscription_and_bills_nothing_more(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    at = START + 5 * DAY + 3 * HOUR
    await billing.advance(at)

    canceled = await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id))

    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert (canceled.canceled_at, canceled.ended_at) == (at, at)
    listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest())
    assert list(listed.data) == []  # as Stripe: canceled ones only when asked for
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(status=S.SUBSCRIPTION_STATUS_FILTER_CANCELED)
    )
    assert [each.id for each in listed.data] == [created.id]
    await billing.advance(add_months(START, 2) + HOUR)
    assert len(await billing.invoices(created.id)) == 1
    assert [charge.amount for charge in captured(psp)] == [AMOUNT]
    await billing.assert_books(net([AMOUNT]))


async def test_cancel_now_with_prorate_refunds_the_unused_time(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    at = START + 12 * DAY + 5 * HOUR + 17
    await billing.advance(at)
    refund = share(AMOUNT, START, END, at)

    request = S.CancelSubscriptionRequest(id=created.id, prorate=True)

    canceled = await billing.api.CancelSubscription(request, metadata=idempotency_key("end-1"))
    again = await billing.api.CancelSubscription(request, metadata=idempotency_key("end-1"))

    assert canceled.status == S.SUBSCRIPTION_STATUS_CANCELED
    assert again == canceled
    await billing.settle()  # the refund may be finished by the executor
    (invoice,) = await billing.invoices(created.id)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    assert (intent.amount_received, intent.amount_refunded) == (AMOUNT, refund)
    assert psp_refunds(psp) == [(refund, "usd")]  # refunded once at the PSP, despite the retry
    # A refund does not give the fee back.
    await billing.assert_books(AMOUNT - fee(AMOUNT) - refund)


async def test_created_to_cancel_at_period_end_it_ends_there(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """Stripe's cancel_at_period_end on create: canceled_at is the create, cancel_at the first
    period's end, where it ends without renewing."""
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)

    created = await billing.subscribe([(price, 1)], cancel_at_period_end=True)

    assert (created.status, created.cancel_at_period_end) == (S.SUBSCRIPTION_STATUS_ACTIVE, True)
    assert (created.canceled_at, created.cancel_at) == (START, END)
    await billing.advance(END + DAY)
    ended = await billing.subscription(created.id)
    assert (ended.status, ended.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, END)
    assert [charge.amount for charge in captured(psp)] == [AMOUNT]
    await billing.assert_books(net([AMOUNT]))


async def test_a_cancel_at_period_end_taken_back_renews_as_usual(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    await billing.advance(START + 3 * DAY)
    await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, at_period_end=True)
    )

    resumed = await billing.update(created.id, cancel_at_period_end=False)

    assert (resumed.status, resumed.cancel_at_period_end) == (S.SUBSCRIPTION_STATUS_ACTIVE, False)
    assert resumed.cancel_at == 0
    await billing.advance(END)
    renewed = await billing.subscription(created.id)
    assert (renewed.status, renewed.ended_at) == (S.SUBSCRIPTION_STATUS_ACTIVE, 0)
    assert (renewed.current_period_start, renewed.current_period_end) == (
        END,
        add_months(START, 2),
    )
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_a_cancel_now_clears_a_pending_cancel_at_period_end(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    await billing.advance(START + 3 * DAY)
    await billing.api.CancelSubscription(
        S.CancelSubscriptionRequest(id=created.id, at_period_end=True)
    )
    at = START + 4 * DAY
    await billing.advance(at)

    canceled = await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id))

    # As Stripe: once it has ended there is no period end left to cancel at.
    assert (canceled.status, canceled.cancel_at_period_end) == (
        S.SUBSCRIPTION_STATUS_CANCELED,
        False,
    )
    assert (canceled.canceled_at, canceled.ended_at) == (at, at)
    assert (await billing.subscription(created.id)) == canceled
    deleted = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.subscription.deleted")
    )
    recorded = S.Subscription()
    assert [event.data.object.Unpack(recorded) for event in deleted.data] == [True]
    assert recorded == canceled


async def _changed_then_canceled_with_prorate(
    payin: PayIn,
    shop: Shop,
    psp: PspSimulator,
    paid: int,
    changed_to: int,
    behavior: S.ProrationBehavior.ValueType = S.PRORATION_BEHAVIOR_CREATE_PRORATIONS,
) -> tuple[Billing, int, payment_pb2.PaymentIntent]:
    """Paid `paid` for the period, changed to `changed_to` at `at` (by default with
    create_prorations: the lines pending for a renewal that will not come), then canceled at
    once with prorate. The period's invoice and its intent."""
    billing = await open_billing(payin, shop, psp, START)
    old_price, new_price = await billing.price(paid), await billing.price(changed_to)
    created = await billing.subscribe([(old_price, 1)])
    at = START + 11 * DAY + 7 * HOUR + 13
    await billing.advance(at)
    await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(id=created.items[0].id, price=new_price)],
        proration_behavior=behavior,
    )

    await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id, prorate=True))

    await billing.settle()
    invoice = (await billing.invoices(created.id))[0]
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    return billing, at, intent


async def test_a_prorated_cancel_after_a_pending_downgrade_refunds_the_unused_paid_time(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, at, intent = await _changed_then_canceled_with_prorate(payin, shop, psp, 2999, 1000)
    # The period was paid at 2999 and the downgrade's credit was never settled: what is given
    # back is the unused part of what was paid, not of the cheaper price (else the pending
    # credit of the downgrade is lost with the canceled subscription).
    unused = share(2999, START, END, at)
    assert intent.amount_refunded == unused, (intent.amount_refunded, unused)
    await billing.assert_books(2999 - fee(2999) - unused)


async def test_a_prorated_cancel_after_a_pending_upgrade_refunds_no_more_than_the_unused_time(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, at, intent = await _changed_then_canceled_with_prorate(payin, shop, psp, 1000, 2999)
    # Paid 1000 for the period, the upgrade's charge never billed: the unused part of the 1000.
    unused = share(1000, START, END, at)
    assert intent.amount_refunded == unused, (intent.amount_refunded, unused)
    await billing.assert_books(1000 - fee(1000) - unused)


async def test_a_prorated_cancel_gives_back_the_credit_a_downgrade_carried_forward(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, at, intent = await _changed_then_canceled_with_prorate(
        payin, shop, psp, 2999, 1000, S.PRORATION_BEHAVIOR_ALWAYS_INVOICE
    )
    # The downgrade's invoice came to less than nothing: its credit (share of 2999 less share of
    # 1000) waits for a next invoice that will not come. With it, the unused paid time is back.
    unused = share(2999, START, END, at)
    assert intent.amount_refunded == unused, (intent.amount_refunded, unused)
    await billing.assert_books(2999 - fee(2999) - unused)


async def test_a_prorated_cancel_after_an_invoiced_upgrade_refunds_from_both_payments(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, at, first = await _changed_then_canceled_with_prorate(
        payin, shop, psp, 1000, 2999, S.PRORATION_BEHAVIOR_ALWAYS_INVOICE
    )
    upgrade = share(2999, START, END, at) - share(1000, START, END, at)
    # Paid 1000 and then the upgrade: the unused time is at the new terms, more than the first
    # payment alone could give back.
    unused = share(2999, START, END, at)
    assert unused > 1000
    invoices = await billing.invoices()
    intents = [
        await shop.client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
        )
        for invoice in invoices
    ]
    assert intents[0] == first
    assert sorted(intent.amount_received for intent in intents) == sorted([1000, upgrade])
    assert sum(intent.amount_refunded for intent in intents) == unused
    assert sorted(amount for amount, _ in psp_refunds(psp)) == sorted(
        intent.amount_refunded for intent in intents if intent.amount_refunded
    )
    await billing.assert_books(net([1000, upgrade]) - unused)
