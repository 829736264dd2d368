"""Acceptance (issue 7): invoices are charged exactly once when the PSP answers later than the
call waits, or charges the card and the answer never arrives (the simulator's
CARD_ANSWER_LOST: the executor looks the charge up), and a charge the PSP never answers
(CARD_TIMES_OUT) is parked without stopping the clock or the renewals after it."""

from __future__ import annotations

import pytest
from paycore.tools.psp import cards
from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator
from tests.payment.shop import SHORT_INLINE_WAIT, PayIn, Shop
from tests.subscription.billing import HOUR, add_months, captured, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 11, 30, 18)
AMOUNT = 3100


@pytest.fixture
def payin_overrides() -> dict[str, object]:
    return SHORT_INLINE_WAIT


async def test_renewals_whose_answers_are_lost_are_paid_and_charged_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    card = await billing.card_of_customer(cards.CARD_ANSWER_LOST)
    created = await billing.subscribe([(price, 1)], payment_method=card)
    await billing.settle()  # the first charge's answer was lost too: the executor finds it

    await billing.advance(add_months(START, 3) + HOUR)

    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.status, each.amount_paid) for each in invoices] == [
        (add_months(START, month), S.INVOICE_STATUS_PAID, AMOUNT) for month in range(4)
    ]
    subscription = await billing.subscription(created.id)
    assert subscription.status == S.SUBSCRIPTION_STATUS_ACTIVE
    charges = captured(psp)
    assert sorted(charge.reference for charge in charges) == sorted(
        invoice.payment_intent for invoice in invoices
    )
    await billing.assert_books(net([AMOUNT] * 4))


async def test_a_first_charge_slower_than_the_call_completes_afterwards(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    # Slower than the call waits for a charge (executor_inline_wait_ms 300 in these tests),
    # quicker than the PSP timeout (400 ms): the charge succeeds after CreateSubscription answers.
    await psp.set_faults(latency_ms=350)

    created = await billing.subscribe([(price, 1)])

    await psp.set_faults(latency_ms=0)
    assert created.status in (S.SUBSCRIPTION_STATUS_INCOMPLETE, S.SUBSCRIPTION_STATUS_ACTIVE)
    await billing.settle()
    first = await billing.wait_invoice(created.latest_invoice, S.INVOICE_STATUS_PAID)
    assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_PAID, AMOUNT)
    assert (await billing.subscription(created.id)).status == S.SUBSCRIPTION_STATUS_ACTIVE
    await billing.advance(add_months(START, 1))
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    await billing.assert_books(net([AMOUNT, AMOUNT]))


async def test_a_renewal_the_psp_never_answers_is_parked_and_the_clock_goes_on(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(AMOUNT)
    created = await billing.subscribe([(price, 1)])
    silent = await billing.card_of_customer(cards.CARD_TIMES_OUT)
    await billing.update(created.id, default_payment_method=silent)

    # The executor gives up on the charge (dead-lettered: its outcome is unknown), and the clock
    # does not wait for it (docs/subscriptions.md, "Charging (crash-safe)").
    await billing.advance(add_months(START, 1))

    parked = (await billing.invoices(created.id))[1]
    assert (parked.status, parked.attempt_count, parked.amount_paid) == (
        S.INVOICE_STATUS_OPEN,
        1,
        0,
    )
    assert parked.next_payment_attempt == 0  # not retried under a new key: it may have been paid
    good = await billing.card_of_customer()
    await billing.update(created.id, default_payment_method=good)
    await billing.advance(add_months(START, 2))
    invoices = await billing.invoices(created.id)
    assert [(each.period_start, each.status) for each in invoices] == [
        (START, S.INVOICE_STATUS_PAID),
        (add_months(START, 1), S.INVOICE_STATUS_OPEN),
        (add_months(START, 2), S.INVOICE_STATUS_PAID),
    ]
    assert [charge.amount for charge in captured(psp)] == [AMOUNT, AMOUNT]
    await billing.assert_books(net([AMOUNT, AMOUNT]))
