"""Acceptance (issue 7): a change in the middle of a period prorates to the minor unit, on usd
and on jpy (zero-decimal). The rule (subscription/proration.py, docs/subscriptions.md):
the exact fraction of the period left, in seconds; credit = -round_half_up(old * left / length)
and charge = round_half_up(new * left / length). With create_prorations both lines go on the
next renewal invoice; with always_invoice they are invoiced and charged at once."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import grpc
import pytest
from paycore.client import idempotency_key
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    DAY,
    HOUR,
    Billing,
    add_months,
    captured,
    item_lines,
    net,
    open_billing,
    proration_lines,
    psp_charges,
    share,
    utc,
)

S = subscription_pb2
Change = S.UpdateSubscriptionRequest.Item
START = utc(2028, 4, 30)
END = add_months(START, 1)  # May 30: a 30-day period
AT = START + 11 * DAY + 7 * HOUR + 13 * 60 + 29  # an instant that divides nothing evenly
# (currency, old unit amount, new unit amount) in minor units: cents, and yen.
CASES = [("usd", 1000, 2999), ("jpy", 980, 3300)]


def test_the_chosen_instant_makes_the_rounding_matter() -> None:
    # Neither share is a whole number of minor units, so a test passing with these numbers
    # checks the rounding rule and not just a multiplication.
    for _, old, new in CASES:
        for amount in (old, new):
            exact = Fraction(amount * (END - AT), END - START)
            assert exact.denominator != 1, (amount, exact)


async def _upgrade_mid_period(
    payin: PayIn, shop: Shop, psp: PspSimulator, currency: str, old: int, new: int
) -> tuple[Billing, subscription_pb2.Subscription, str, str]:
    billing = await open_billing(payin, shop, psp, START)
    old_price = await billing.price(old, currency)
    new_price = await billing.price(new, currency)
    created = await billing.subscribe([(old_price, 1)])
    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE, created
    await billing.advance(AT)
    return billing, created, old_price, new_price


def _change_to(subscription: subscription_pb2.Subscription, price: str) -> list[Change]:
    (item,) = subscription.items
    return [Change(id=item.id, price=price)]


@pytest.mark.parametrize(("currency", "old", "new"), CASES)
async def test_an_upgrade_with_create_prorations_bills_credit_and_charge_on_the_next_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator, currency: str, old: int, new: int
) -> None:
    billing, created, old_price, new_price = await _upgrade_mid_period(
        payin, shop, psp, currency, old, new
    )
    credit, charge = -share(old, START, END, AT), share(new, START, END, AT)

    updated = await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_CREATE_PRORATIONS,
    )

    assert [(item.price.id, item.quantity) for item in updated.items] == [(new_price, 1)]
    assert (updated.current_period_start, updated.current_period_end) == (START, END)
    assert len(await billing.invoices(created.id)) == 1  # nothing invoiced yet
    await billing.advance(END)
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 2
    renewal = invoices[1]
    assert renewal.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    assert sorted(
        (line.amount, line.price, line.period_start, line.period_end)
        for line in proration_lines(renewal)
    ) == sorted([(credit, old_price, AT, END), (charge, new_price, AT, END)])
    assert all(line.currency == currency for line in renewal.lines)
    assert [(line.amount, line.price) for line in item_lines(renewal)] == [(new, new_price)]
    total = new + charge + credit
    assert (renewal.total, renewal.amount_paid, renewal.status) == (
        total,
        total,
        S.INVOICE_STATUS_PAID,
    )
    assert [each.amount for each in captured(psp)] == [old, total]
    await billing.assert_books(net([old, total]), currency)


@pytest.mark.parametrize(("currency", "old", "new"), CASES)
async def test_an_upgrade_with_always_invoice_is_charged_at_once(
    payin: PayIn, shop: Shop, psp: PspSimulator, currency: str, old: int, new: int
) -> None:
    billing, created, old_price, new_price = await _upgrade_mid_period(
        payin, shop, psp, currency, old, new
    )
    credit, charge = -share(old, START, END, AT), share(new, START, END, AT)

    updated = await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    invoices = await billing.invoices(created.id)
    assert len(invoices) == 2
    now = await billing.wait_invoice(invoices[1].id, S.INVOICE_STATUS_PAID)
    assert updated.latest_invoice == now.id
    assert now.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    assert sorted((line.amount, line.price) for line in now.lines) == sorted(
        [(credit, old_price), (charge, new_price)]
    )
    assert all(line.proration for line in now.lines)
    assert (now.status, now.amount_paid) == (S.INVOICE_STATUS_PAID, charge + credit)
    assert [each.amount for each in captured(psp)] == [old, charge + credit]
    # The renewal bills the new price only: the prorations were settled already.
    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[2]
    assert [(line.amount, line.price, line.proration) for line in renewal.lines] == [
        (new, new_price, False)
    ]
    assert [each.amount for each in captured(psp)] == [old, charge + credit, new]
    await billing.assert_books(net([old, charge + credit, new]), currency)


async def test_a_quantity_change_prorates_the_old_and_new_quantities(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1250)
    created = await billing.subscribe([(price, 2)])
    await billing.advance(AT)
    (item,) = created.items
    credit, charge = -share(2 * 1250, START, END, AT), share(5 * 1250, START, END, AT)

    updated = await billing.update(
        created.id, items=[S.UpdateSubscriptionRequest.Item(id=item.id, quantity=5)]
    )

    assert [(each.id, each.price.id, each.quantity) for each in updated.items] == [
        (item.id, price, 5)
    ]
    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[1]
    assert sorted((line.amount, line.quantity) for line in proration_lines(renewal)) == sorted(
        [(credit, 2), (charge, 5)]
    )
    assert [(line.amount, line.quantity) for line in item_lines(renewal)] == [(6250, 5)]
    total = 6250 + charge + credit
    assert (renewal.status, renewal.amount_paid) == (S.INVOICE_STATUS_PAID, total)
    assert [each.amount for each in captured(psp)] == [2500, total]
    await billing.assert_books(net([2500, total]))


async def test_half_a_minor_unit_rounds_up_for_the_credit_as_for_the_charge(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    old_price, new_price = await billing.price(999), await billing.price(2001)
    created = await billing.subscribe([(old_price, 1)])
    half = START + (END - START) // 2  # 15 days of 30: 499.5 and 1000.5 cents are left
    await billing.advance(half)

    await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    now = await billing.wait_invoice(
        (await billing.invoices(created.id))[1].id, S.INVOICE_STATUS_PAID
    )
    # The credit is rounded as a positive 499.5 -> 500, then negated (not -499.5 -> -499).
    assert sorted((line.amount, line.price) for line in now.lines) == [
        (-500, old_price),
        (1001, new_price),
    ]
    assert (now.status, now.amount_paid) == (S.INVOICE_STATUS_PAID, 501)
    await billing.assert_books(net([999, 501]))


async def test_a_downgrade_credit_larger_than_an_invoice_carries_forward_until_used(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, _, cheap = await _upgrade_mid_period(payin, shop, psp, "usd", 2999, 1000)
    # Here "old" is the dearer price: the change is a downgrade.
    credit, charge = -share(2999, START, END, AT), share(1000, START, END, AT)
    assert credit + charge + 1000 < 0  # even the next renewal does not use all the credit

    await billing.update(
        created.id,
        items=_change_to(created, cheap),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    now = await billing.wait_invoice(
        (await billing.invoices(created.id))[1].id, S.INVOICE_STATUS_PAID
    )
    assert (now.total, now.amount_due, now.amount_paid) == (credit + charge, 0, 0)
    await billing.advance(add_months(START, 2))
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 4
    first_renewal, second_renewal = invoices[2], invoices[3]
    # Each renewal: the item, and what is left of the credit from the invoice before.
    carried = credit + charge
    assert sorted(line.amount for line in first_renewal.lines) == sorted([1000, carried])
    assert (first_renewal.total, first_renewal.amount_due) == (1000 + carried, 0)
    carried += 1000
    assert sorted(line.amount for line in second_renewal.lines) == sorted([1000, carried])
    assert (second_renewal.amount_due, second_renewal.amount_paid) == (1000 + carried,) * 2
    assert [each.status for each in invoices] == [S.INVOICE_STATUS_PAID] * 4
    assert [each.amount for each in captured(psp)] == [2999, 1000 + carried]
    await billing.assert_books(net([2999, 1000 + carried]))


async def test_adding_and_removing_items_prorate_a_charge_and_a_credit(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    base, extra, addon = (
        await billing.price(1000),
        await billing.price(700),
        await billing.price(450),
    )
    created = await billing.subscribe([(base, 1), (extra, 2)])
    await billing.advance(AT)
    extra_item = next(item for item in created.items if item.price.id == extra)

    updated = await billing.update(
        created.id,
        items=[
            S.UpdateSubscriptionRequest.Item(price=addon, quantity=3),
            S.UpdateSubscriptionRequest.Item(id=extra_item.id, deleted=True),
        ],
    )

    assert sorted((item.price.id, item.quantity) for item in updated.items) == sorted(
        [(base, 1), (addon, 3)]
    )
    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[1]
    added, removed = share(3 * 450, START, END, AT), -share(2 * 700, START, END, AT)
    assert sorted((line.amount, line.price) for line in proration_lines(renewal)) == sorted(
        [(added, addon), (removed, extra)]
    )
    assert sorted((line.amount, line.price) for line in item_lines(renewal)) == sorted(
        [(1000, base), (1350, addon)]
    )
    total = 1000 + 1350 + added + removed
    assert (renewal.status, renewal.amount_paid) == (S.INVOICE_STATUS_PAID, total)
    await billing.assert_books(net([2400, total]))


async def test_a_change_without_proration_bills_the_new_price_from_the_next_period(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, _, new_price = await _upgrade_mid_period(payin, shop, psp, "usd", 1000, 2999)

    await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_NONE,
    )

    assert len(await billing.invoices(created.id)) == 1
    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[1]
    assert [(line.amount, line.price, line.proration) for line in renewal.lines] == [
        (2999, new_price, False)
    ]
    await billing.assert_books(net([1000, 2999]))


async def test_a_bad_update_is_refused_naming_the_field_and_changes_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, _, _ = await _upgrade_mid_period(payin, shop, psp, "usd", 1000, 2999)
    eur = await billing.price(1000, "eur")
    one_time = await billing.price(500, recurring=None)
    (item,) = created.items
    cases: list[tuple[list[Change], str]] = [
        ([Change(id=item.id, quantity=-1)], "items[0].quantity"),
        ([Change(id=item.id, price=eur)], "items[0].price"),
        ([Change(price=eur)], "items[0].price"),
        ([Change(id=item.id, price=one_time)], "items[0].price"),
        ([Change(id=item.id, deleted=True)], "items"),  # a subscription keeps one item at least
    ]
    for items, param in cases:
        error = await failure(
            billing.api.UpdateSubscription(
                S.UpdateSubscriptionRequest(
                    id=created.id,
                    items=items,
                    proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert (error.param or "").startswith(param), (items, error)
    after = await billing.subscription(created.id)
    assert [(each.id, each.price.id, each.quantity) for each in after.items] == [
        (item.id, item.price.id, 1)
    ]
    assert len(await billing.invoices(created.id)) == 1
    assert len(psp_charges(psp)) == 1
    await billing.assert_books(net([1000]))


async def test_two_changes_in_one_period_credit_what_each_replaced(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, first, second = await _upgrade_mid_period(payin, shop, psp, "usd", 1000, 2999)
    third = await billing.price(1777)
    later = AT + 6 * DAY + 5 * HOUR + 1
    await billing.update(created.id, items=_change_to(created, second))
    await billing.advance(later)

    await billing.update(created.id, items=_change_to(created, third))

    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[1]
    # The second change credits the time left at the second price, not the first price again.
    expected = [
        (-share(1000, START, END, AT), first),
        (share(2999, START, END, AT), second),
        (-share(2999, START, END, later), second),
        (share(1777, START, END, later), third),
    ]
    assert sorted((line.amount, line.price) for line in proration_lines(renewal)) == sorted(
        expected
    )
    assert [(line.amount, line.price) for line in item_lines(renewal)] == [(1777, third)]
    total = 1777 + sum(amount for amount, _ in expected)
    assert (renewal.status, renewal.amount_paid) == (S.INVOICE_STATUS_PAID, total)
    await billing.assert_books(net([1000, total]))


async def test_an_always_invoice_change_retried_with_its_key_charges_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, _, new_price = await _upgrade_mid_period(payin, shop, psp, "usd", 1000, 2999)
    request = S.UpdateSubscriptionRequest(
        id=created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    first = await billing.api.UpdateSubscription(request, metadata=idempotency_key("upgrade-1"))
    again = await billing.api.UpdateSubscription(request, metadata=idempotency_key("upgrade-1"))

    assert again.latest_invoice == first.latest_invoice
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 2
    await billing.wait_invoice(invoices[1].id, S.INVOICE_STATUS_PAID)
    prorated = share(2999, START, END, AT) - share(1000, START, END, AT)
    assert [charge.amount for charge in captured(psp)] == [1000, prorated]
    await billing.assert_books(net([1000, prorated]))


async def test_concurrent_changes_are_prorated_one_after_the_other(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, created, first, second = await _upgrade_mid_period(payin, shop, psp, "usd", 1000, 2999)
    third = await billing.price(4321)

    changed = await asyncio.gather(
        *(
            billing.update(
                created.id,
                items=_change_to(created, price),
                proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
            )
            for price in (second, third)
        )
    )

    final = (await billing.subscription(created.id)).items[0].price.id
    assert final in (second, third) and final in {each.items[0].price.id for each in changed}
    between = third if final == second else second  # the change applied first
    amounts = {first: 1000, second: 2999, third: 4321}
    left = {price: share(amount, START, END, AT) for price, amount in amounts.items()}
    invoices = await billing.invoices(created.id)
    assert len(invoices) == 3
    paid = [await billing.wait_invoice(each.id, S.INVOICE_STATUS_PAID) for each in invoices[1:]]
    # Each change credited what the one before it left (not the first price twice).
    assert sorted([(line.amount, line.price) for line in each.lines] for each in paid) == sorted(
        [
            sorted([(-left[first], first), (left[between], between)]),
            sorted([(-left[between], between), (left[final], final)]),
        ]
    )
    # The second change is a downgrade when it lands on `second`: nothing to charge then.
    charges = [left[between] - left[first], max(0, left[final] - left[between])]
    assert sorted(each.amount_paid for each in paid) == sorted(charges)
    charged = [1000, *(amount for amount in charges if amount)]
    assert sorted(charge.amount for charge in captured(psp)) == sorted(charged)
    await billing.assert_books(net(charged))


async def test_a_change_at_the_first_instant_of_a_period_credits_and_charges_it_whole(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    old_price, new_price = await billing.price(1000), await billing.price(2999)
    created = await billing.subscribe([(old_price, 1)])
    await billing.advance(END)  # renewed: [END, next) is paid at the old price

    await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    invoices = await billing.invoices(created.id)
    assert [each.billing_reason for each in invoices] == [
        S.INVOICE_BILLING_REASON_SUBSCRIPTION_CREATE,
        S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE,
        S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE,
    ]
    now = await billing.wait_invoice(invoices[2].id, S.INVOICE_STATUS_PAID)
    assert sorted((line.amount, line.period_start, line.period_end) for line in now.lines) == [
        (-1000, END, add_months(START, 2)),
        (2999, END, add_months(START, 2)),
    ]
    await billing.assert_books(net([1000, 1000, 1999]))


async def test_a_yearly_upgrade_in_yen_prorates_over_the_clamped_year(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    start, end = utc(2028, 2, 29), utc(2029, 2, 28)  # 365 days: Feb 29 has no 2029 twin
    at = utc(2028, 9, 17, 4, 41) + 7
    billing = await open_billing(payin, shop, psp, start)
    yearly = S.Recurring(interval=S.RECURRING_INTERVAL_YEAR, interval_count=1)
    old_price = await billing.price(98_000, "jpy", recurring=yearly)
    new_price = await billing.price(150_000, "jpy", recurring=yearly)
    created = await billing.subscribe([(old_price, 1)])
    assert created.current_period_end == end
    await billing.advance(at)

    await billing.update(
        created.id,
        items=_change_to(created, new_price),
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )

    credit, charge = -share(98_000, start, end, at), share(150_000, start, end, at)
    now = await billing.wait_invoice(
        (await billing.invoices(created.id))[1].id, S.INVOICE_STATUS_PAID
    )
    assert sorted((line.amount, line.currency) for line in now.lines) == sorted(
        [(credit, "jpy"), (charge, "jpy")]
    )
    assert now.amount_paid == credit + charge
    await billing.assert_books(net([98_000, credit + charge]), "jpy")
