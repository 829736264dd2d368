"""A one-off invoice's `auto_advance` (Stripe's automatic collection): the billing job finalizes
a draft made with it an hour after it was made (on its customer's test clock), then charges what
is due to the customer's default payment method, as Stripe does; one without it stays a draft
until the merchant finalizes it. Nothing to charge with, or a decline, leaves it open
(invoice.payment_failed) for PayInvoice, with no retries (no dunning for a one-off invoice);
a draft that cannot be finalized (its total below 0) is left a draft, auto_advance turned off
(invoice.updated), so that billing does not try it again."""

from __future__ import annotations

from typing import Any

from paycore.tools.psp import cards
from paycore.v1 import subscription_pb2

from tests.customer.support import new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, good_card
from tests.subscription.billing import Billing, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 5, 4)
HOUR = 3600


async def _clocked_customer(billing: Billing, card: str | None = None) -> str:
    """A customer on the billing's test clock; with `card`, attached and their default."""
    customer = await new_customer(
        billing.shop.client, email="clocked@shop.test", test_clock=billing.clock_id
    )
    billing.customer = customer.id
    if card is not None:
        await billing.set_customer_default(await billing.card_of_customer(card))
    return customer.id


async def _draft(billing: Billing, amount: int, **fields: Any) -> S.Invoice:
    invoice: S.Invoice = await billing.api.CreateInvoice(
        S.CreateInvoiceRequest(customer=billing.customer, **fields)
    )
    await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer, amount=amount, currency="usd", invoice=invoice.id
        )
    )
    return invoice


async def test_an_auto_advancing_draft_is_finalized_and_charged_an_hour_after_it_was_made(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    await _clocked_customer(billing, good_card())
    advancing = await _draft(billing, 1200, auto_advance=True)
    kept = await _draft(billing, 800, auto_advance=False)
    assert advancing.auto_advance and advancing.created == START

    await billing.work_once()
    await billing.advance(START + HOUR - 1)
    assert (await billing.invoice(advancing.id)).status == S.INVOICE_STATUS_DRAFT
    assert await billing.event_count("invoice.finalized") == 0

    await billing.advance(START + 2 * HOUR)  # ready only once billing has caught up
    paid = await billing.invoice(advancing.id)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == (S.INVOICE_STATUS_PAID, 1200, 1)
    # Finalized and charged when it was due on the clock, not at the clock's new time.
    assert paid.number and paid.status_transitions.finalized_at == START + HOUR
    assert paid.paid_at == START + HOUR
    assert paid.payment_intent.startswith("pi_")
    assert await billing.event_count("invoice.finalized") == 1
    assert await billing.event_count("invoice.paid") == 1

    await billing.advance(START + 30 * HOUR)
    assert (await billing.invoice(kept.id)).status == S.INVOICE_STATUS_DRAFT
    assert (await billing.invoice(advancing.id)).amount_paid == 1200  # charged once
    await billing.assert_books(net([1200]))


async def test_without_a_card_or_with_a_decline_it_is_left_open_for_pay_invoice(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    await _clocked_customer(billing)  # no default payment method
    no_card = await _draft(billing, 900, auto_advance=True)
    await _clocked_customer(billing, cards.CARD_DECLINED)
    declined = await _draft(billing, 1100, auto_advance=True)

    await billing.advance(START + HOUR)
    for invoice_id in (no_card.id, declined.id):
        found = await billing.invoice(invoice_id)
        assert (found.status, found.attempt_count, found.amount_paid) == (
            S.INVOICE_STATUS_OPEN,
            1,
            0,
        )
        assert found.next_payment_attempt == 0  # no retries: no dunning for a one-off invoice
    assert await billing.event_count("invoice.payment_failed") == 2
    await billing.advance(START + 10 * 24 * HOUR)
    assert (await billing.invoice(declined.id)).attempt_count == 1

    await billing.set_customer_default(await billing.card_of_customer(good_card()))
    paid = await billing.api.PayInvoice(S.PayInvoiceRequest(id=declined.id))
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, 1100)
    await billing.assert_books(net([1100]))


async def test_a_draft_that_cannot_be_finalized_stays_a_draft_and_stops_advancing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    await _clocked_customer(billing, good_card())
    credit = await _draft(billing, -500, auto_advance=True)

    await billing.advance(START + HOUR)
    found = await billing.invoice(credit.id)
    assert (found.status, found.auto_advance, found.number) == (S.INVOICE_STATUS_DRAFT, False, "")
    assert await billing.event_count("invoice.updated") == 1
    await billing.advance(START + 3 * HOUR)
    assert await billing.event_count("invoice.updated") == 1
    assert await billing.event_count("invoice.finalized") == 0
