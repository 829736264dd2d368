"""UpdateSubscription with proration (to the minor unit, half up, on usd and jpy; pending on
the next invoice, invoiced at once, or none), credit carried forward, a new default card
retrying a past-due invoice, and CancelSubscription at period end or now with a refund."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import payment_pb2, subscription_pb2

from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, MONTHLY, Billed, new_price, new_product

DAY = 86_400
S = subscription_pb2
FEB_28_2026 = JAN_31_2026 + 28 * DAY


async def _upgrade(
    billed: Billed,
    subscription: S.Subscription,
    price: str,
    behavior: S.ProrationBehavior.ValueType,
) -> S.Subscription:
    updated: S.Subscription = await billed.client.subscriptions.UpdateSubscription(
        S.UpdateSubscriptionRequest(
            id=subscription.id,
            items=[S.UpdateSubscriptionRequest.Item(id=subscription.items[0].id, price=price)],
            proration_behavior=behavior,
        )
    )
    return updated


async def _price(billed: Billed, amount: int, currency: str) -> str:
    product = await new_product(billed.client)
    created = await new_price(billed.client, product.id, amount, currency, recurring=MONTHLY)
    return str(created.id)


async def test_an_upgrade_prorates_onto_the_next_invoice_in_usd(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=1000)
    subscription = await billed.subscribe()
    bigger = await _price(billed, 3000, "usd")
    await billed.advance(JAN_31_2026 + 10 * DAY)  # 18 of the period's 28 days remain

    updated = await _upgrade(billed, subscription, bigger, S.PRORATION_BEHAVIOR_UNSPECIFIED)
    await billed.advance(FEB_28_2026)

    assert updated.items[0].price.id == bigger
    _, renewal = await billed.invoices(subscription.id)
    lines = sorted((line.amount, line.proration) for line in renewal.lines)
    # 1000 * 18/28 = 642.86 -> 643 credited; 3000 * 18/28 = 1928.57 -> 1929 charged.
    assert lines == [(-643, True), (1929, True), (3000, False)]
    assert (renewal.total, renewal.amount_paid) == (4286, 4286)
    assert all(
        (line.period_start, line.period_end) == (JAN_31_2026 + 10 * DAY, FEB_28_2026)
        for line in renewal.lines
        if line.proration
    )
    assert (await shop.balance())[1] == {"usd": 1000 - fee(1000) + 4286 - fee(4286)}
    await shop.assert_books_balance()


async def test_always_invoice_charges_the_proration_now_half_up_in_jpy(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=980, currency="jpy")
    subscription = await billed.subscribe()
    bigger = await _price(billed, 1980, "jpy")
    await billed.advance(JAN_31_2026 + 10 * DAY + DAY // 2)  # 17.5 of 28 days remain

    updated = await _upgrade(billed, subscription, bigger, S.PRORATION_BEHAVIOR_ALWAYS_INVOICE)

    _, now = await billed.invoices(subscription.id)
    assert now.id == updated.latest_invoice
    assert now.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    # 980 * 17.5/28 = 612.5 -> 613 credited; 1980 * 17.5/28 = 1237.5 -> 1238 charged.
    assert sorted(line.amount for line in now.lines) == [-613, 1238]
    assert (now.status, now.amount_paid) == (S.INVOICE_STATUS_PAID, 625)
    await billed.advance(FEB_28_2026)
    renewal = (await billed.invoices(subscription.id))[2]
    assert [line.amount for line in renewal.lines] == [1980]  # nothing left pending
    assert (await shop.balance())[1] == {
        "jpy": sum(amount - fee(amount) for amount in (980, 625, 1980))
    }
    await shop.assert_books_balance("jpy")


async def test_no_proration_changes_only_the_next_period(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=1000)
    subscription = await billed.subscribe()
    bigger = await _price(billed, 3000, "usd")
    await billed.advance(JAN_31_2026 + 10 * DAY)

    await _upgrade(billed, subscription, bigger, S.PRORATION_BEHAVIOR_NONE)
    await billed.advance(FEB_28_2026)

    assert [invoice.total for invoice in await billed.invoices(subscription.id)] == [1000, 3000]


async def test_a_downgrade_credit_larger_than_the_invoice_carries_forward(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=2800)
    subscription = await billed.subscribe()
    smaller = await _price(billed, 100, "usd")
    await billed.advance(JAN_31_2026 + 7 * DAY)  # 21 of 28 days remain

    updated = await _upgrade(billed, subscription, smaller, S.PRORATION_BEHAVIOR_ALWAYS_INVOICE)
    await billed.advance(FEB_28_2026 + 31 * DAY)  # Feb 28 and Mar 31 renewals

    _, credit_note, feb, mar = await billed.invoices(subscription.id)
    assert credit_note.id == updated.latest_invoice
    # -2800 * 21/28 = -2100, +100 * 21/28 = 75: total -2025, nothing charged, carried on.
    assert (credit_note.total, credit_note.amount_due, credit_note.status) == (
        -2025,
        0,
        S.INVOICE_STATUS_PAID,
    )
    assert [line.amount for line in feb.lines] == [100, -2025]
    assert (feb.total, feb.amount_due) == (-1925, 0)
    assert (mar.total, mar.amount_due) == (-1825, 0)
    assert "carried forward" in mar.lines[-1].description
    assert (await shop.balance())[1] == {"usd": 2800 - fee(2800)}
    await shop.assert_books_balance()


async def test_a_new_default_card_retries_the_past_due_invoice_at_once(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(cards.CARD_DECLINED)
    subscription = await billed.subscribe(trial_period_days=2)
    await billed.advance(subscription.trial_end)
    assert (await billed.subscription(subscription.id)).status == S.SUBSCRIPTION_STATUS_PAST_DUE

    card = await shop.card(good_card(), billed.customer)
    updated = await shop.client.subscriptions.UpdateSubscription(
        S.UpdateSubscriptionRequest(id=subscription.id, default_payment_method=card)
    )

    _, retried = await billed.invoices(subscription.id)
    assert (retried.status, retried.attempt_count) == (S.INVOICE_STATUS_PAID, 2)
    assert updated.status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert (await shop.balance())[1] == {"usd": 1500 - fee(1500)}
    await shop.assert_books_balance()


async def test_cancel_at_period_end_stops_exactly_at_the_end(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    subscription = await billed.subscribe()

    flagged = await shop.client.subscriptions.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, at_period_end=True)
    )
    await billed.advance(FEB_28_2026 - 1)
    before_end = await billed.subscription(subscription.id)
    await billed.advance(FEB_28_2026)

    assert (flagged.status, flagged.cancel_at_period_end) == (S.SUBSCRIPTION_STATUS_ACTIVE, True)
    assert flagged.canceled_at == JAN_31_2026
    assert before_end.status == S.SUBSCRIPTION_STATUS_ACTIVE
    ended = await billed.subscription(subscription.id)
    assert (ended.status, ended.ended_at) == (S.SUBSCRIPTION_STATUS_CANCELED, FEB_28_2026)
    await billed.advance(FEB_28_2026 + 90 * DAY)
    assert len(await billed.invoices(subscription.id)) == 1
    await shop.assert_books_balance()


async def test_cancel_now_with_proration_refunds_the_unused_time(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=2800)
    subscription = await billed.subscribe()
    await billed.advance(JAN_31_2026 + 7 * DAY)

    canceled = await shop.client.subscriptions.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, prorate=True)
    )

    assert (canceled.status, canceled.ended_at) == (
        S.SUBSCRIPTION_STATUS_CANCELED,
        JAN_31_2026 + 7 * DAY,
    )
    (invoice,) = await billed.invoices(subscription.id)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    assert intent.amount_refunded == 2100  # 21 of 28 days unused
    refunds = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert [(refund.amount, refund.status) for refund in refunds.data] == [
        (2100, payment_pb2.REFUND_STATUS_SUCCEEDED)
    ]
    assert (await shop.balance())[1] == {"usd": 2800 - fee(2800) - 2100}
    await shop.assert_books_balance()


async def test_a_prorated_cancel_gives_back_what_a_pending_downgrade_owed(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=2800)
    subscription = await billed.subscribe()
    smaller = await _price(billed, 1400, "usd")
    await billed.advance(JAN_31_2026 + 7 * DAY)  # 21 of 28 days remain

    await _upgrade(billed, subscription, smaller, S.PRORATION_BEHAVIOR_CREATE_PRORATIONS)
    await shop.client.subscriptions.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, prorate=True)
    )

    (invoice,) = await billed.invoices(subscription.id)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    # Unused at the new price 1050, plus the pending net credit -2100 + 1050: 2100 in all,
    # the unused share of what was paid.
    assert intent.amount_refunded == 2100
    assert (await shop.balance())[1] == {"usd": 2800 - fee(2800) - 2100}
    await shop.assert_books_balance()


async def test_a_prorated_cancel_after_an_invoiced_upgrade_refunds_both_payments(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=1400)
    subscription = await billed.subscribe()
    bigger = await _price(billed, 2800, "usd")
    await billed.advance(JAN_31_2026 + 7 * DAY)

    await _upgrade(billed, subscription, bigger, S.PRORATION_BEHAVIOR_ALWAYS_INVOICE)
    await shop.client.subscriptions.CancelSubscription(
        S.CancelSubscriptionRequest(id=subscription.id, prorate=True)
    )

    first, update = await billed.invoices(subscription.id)
    assert update.amount_paid == 2100 - 1050
    refunded = []
    for invoice in (first, update):
        intent = await shop.client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
        )
        refunded.append(intent.amount_refunded)
    # 2800 * 21/28 = 2100 unused, newest payment first: all of the update's 1050, then 1050.
    assert refunded == [1050, 1050]
    paid = 1400 - fee(1400) + 1050 - fee(1050)
    assert (await shop.balance())[1] == {"usd": paid - 2100}
    await shop.assert_books_balance()
