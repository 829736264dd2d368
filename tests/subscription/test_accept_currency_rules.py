"""Acceptance: invoices keep the currency rules every new charge keeps (docs/currencies.md). A
price or an invoice item whose amount no charge in its currency could take (a bhd amount not
ending in 0) is refused naming the field; an invoice whose amount due is below the currency's
least charge is not charged: it is paid with nothing collected and the amount is carried to
the subscription's next invoice (Stripe: "added to the customer's balance and applied to the
next invoice"), and the ledger balances throughout."""

from __future__ import annotations

from fractions import Fraction

import grpc
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
    net,
    open_billing,
    share,
    utc,
)

S = subscription_pb2
START = utc(2028, 3, 10)
INVALID = grpc.StatusCode.INVALID_ARGUMENT
CARRIED = "Amount below the minimum charge carried forward"


async def test_an_amount_no_charge_could_take_is_refused_naming_the_field(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)

    for unit_amount, currency in ((205, "bhd"), (150, "isk"), (7, "kwd")):
        error = await failure(billing.price(unit_amount, currency), INVALID)
        assert (error.reason, error.param) == ("AMOUNT_NOT_ALLOWED", "unit_amount"), error
    # Below the least charge is a price all the same: quantities and invoices add up.
    await billing.price(10)
    bhd = await billing.price(2100, "bhd")
    created = await billing.subscribe([(bhd, 1)])
    for amount in (205, -205):
        error = await failure(
            billing.api.CreateInvoiceItem(
                S.CreateInvoiceItemRequest(
                    customer=billing.customer,
                    subscription=created.id,
                    amount=amount,
                    currency="bhd",
                )
            ),
            INVALID,
        )
        assert (error.reason, error.param) == ("AMOUNT_NOT_ALLOWED", "amount"), error

    assert [(charge.amount, charge.currency) for charge in captured(psp)] == [(2100, "bhd")]
    await shop.assert_books_balance("bhd")


async def test_an_invoice_below_the_least_charge_is_carried_to_the_next_one(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(10)  # usd's least charge is 50

    created = await billing.subscribe([(price, 1)])

    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE
    (first,) = await billing.invoices(created.id)
    assert (first.status, first.amount_due, first.amount_paid) == (S.INVOICE_STATUS_PAID, 10, 0)
    assert (first.payment_intent, first.amount_remaining) == ("", 0)
    assert captured(psp) == []
    await billing.assert_books(0)

    await billing.advance(add_months(START, 4) + HOUR)

    invoices = await billing.invoices(created.id)
    assert [(each.status, each.amount_due, each.amount_paid) for each in invoices] == [
        (S.INVOICE_STATUS_PAID, 10, 0),
        (S.INVOICE_STATUS_PAID, 20, 0),
        (S.INVOICE_STATUS_PAID, 30, 0),
        (S.INVOICE_STATUS_PAID, 40, 0),
        (S.INVOICE_STATUS_PAID, 50, 50),
    ]
    assert [(line.amount, line.description) for line in invoices[-1].lines][1:] == [(40, CARRIED)]
    assert [invoice.payment_intent != "" for invoice in invoices] == [False] * 4 + [True]
    assert [charge.amount for charge in captured(psp)] == [50]
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    assert await billing.event_count("invoice.paid") == 5
    await billing.assert_books(net([50]))


async def test_a_quantity_that_reaches_the_least_charge_is_charged_at_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(10)

    created = await billing.subscribe([(price, 5)])

    (invoice,) = await billing.invoices(created.id)
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == (
        S.INVOICE_STATUS_PAID,
        50,
        50,
    )
    assert [charge.amount for charge in captured(psp)] == [50]
    await billing.assert_books(net([50]))


async def test_a_three_decimal_invoice_below_the_least_charge_is_carried(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(120, "bhd")  # bhd's least charge is 200 fils

    created = await billing.subscribe([(price, 1)])
    await billing.advance(add_months(START, 1) + HOUR)

    invoices = await billing.invoices(created.id)
    assert [(each.status, each.amount_due, each.amount_paid) for each in invoices] == [
        (S.INVOICE_STATUS_PAID, 120, 0),
        (S.INVOICE_STATUS_PAID, 240, 240),
    ]
    assert [(charge.amount, charge.currency) for charge in captured(psp)] == [(240, "bhd")]
    await shop.assert_books_balance("bhd")


def _share_in_tens(amount: int, start: int, end: int, at: int) -> int:
    """The part of `amount` on [at, end), rounded half up to 10 minor units (bhd's charge
    multiple): the proration rule at the unit a charge can take."""
    exact = Fraction(amount * (end - at), (end - start) * 10)
    return 10 * int(exact + Fraction(1, 2))


async def _upgraded(
    billing: Billing, amounts: tuple[int, int], currency: str, at: int
) -> subscription_pb2.Invoice:
    """A subscription from START at the first of `amounts`, changed at `at` to the second with
    always_invoice: the change's invoice."""
    old, new = [await billing.price(amount, currency) for amount in amounts]
    created = await billing.subscribe([(old, 1)])
    await billing.advance(at)
    await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(id=created.items[0].id, price=new)],
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )
    _, change = await billing.invoices(created.id)
    return change


async def test_a_three_decimal_proration_is_an_amount_a_charge_can_take(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    at, end = START + 11 * DAY + 7 * HOUR + 13, add_months(START, 1)

    change = await _upgraded(billing, (2100, 4200), "bhd", at)

    credit, charge = _share_in_tens(2100, START, end, at), _share_in_tens(4200, START, end, at)
    assert [line.amount for line in change.lines] == [-credit, charge]
    assert (change.status, change.amount_paid) == (S.INVOICE_STATUS_PAID, charge - credit)
    assert [(each.amount, each.currency) for each in captured(psp)] == [
        (2100, "bhd"),
        (charge - credit, "bhd"),
    ]
    await shop.assert_books_balance("bhd")


async def test_an_upgrade_invoiced_below_the_least_charge_is_carried_to_the_renewal(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    at, end = START + 20 * DAY, add_months(START, 1)

    change = await _upgraded(billing, (1000, 1030), "usd", at)

    upgrade = share(1030, START, end, at) - share(1000, START, end, at)
    assert 0 < upgrade < 50
    assert (change.status, change.amount_due, change.amount_paid) == (
        S.INVOICE_STATUS_PAID,
        upgrade,
        0,
    )
    await billing.advance(end + HOUR)
    renewal = (await billing.invoices(change.subscription))[-1]
    assert [(line.amount, line.description) for line in renewal.lines][1:] == [(upgrade, CARRIED)]
    assert renewal.amount_paid == 1030 + upgrade
    assert [charge.amount for charge in captured(psp)] == [1000, 1030 + upgrade]
    await billing.assert_books(net([1000, 1030 + upgrade]))
