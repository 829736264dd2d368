"""MarkInvoiceUncollectible (Stripe's Invoice.mark_uncollectible, `POST
/v1/invoices/{id}/mark_uncollectible`): issue 7's invoice status `uncollectible` for an open
invoice the merchant gives up on. No attempt follows; the past_due subscription moves on as
after a payment (Stripe: the latest invoice paid, voided or marked uncollectible); nothing is
charged; a paid invoice is refused and changes nothing. The route answered 404."""

from __future__ import annotations

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import subscription_pb2

from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop, fee
from tests.subscription.billing import DAY, captured
from tests.subscription.test_accept_dunning import AMOUNT, END, _past_due

S = subscription_pb2


async def test_an_open_invoice_marked_uncollectible_is_never_charged_again(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    charged = len(captured(psp))

    marked = await billing.api.MarkInvoiceUncollectible(
        S.MarkInvoiceUncollectibleRequest(id=renewal.id)
    )

    assert marked.status == S.INVOICE_STATUS_UNCOLLECTIBLE
    assert (marked.next_payment_attempt, marked.amount_paid) == (0, 0)
    after = await billing.subscription(subscription.id)
    assert after.status == S.SUBSCRIPTION_STATUS_ACTIVE, after
    assert await billing.event_count("invoice.marked_uncollectible") == 1
    await billing.advance(END + 8 * DAY)  # past every retry the schedule had
    assert len(captured(psp)) == charged
    assert (await billing.invoice(renewal.id)).status == S.INVOICE_STATUS_UNCOLLECTIBLE
    await billing.assert_books(pending=AMOUNT - fee(AMOUNT))  # the first period's only


async def test_a_paid_invoice_cannot_be_marked_uncollectible(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing, subscription, renewal = await _past_due(payin, shop, psp, cards.CARD_DECLINED)
    first = (await billing.invoices(subscription.id))[0]
    assert first.status == S.INVOICE_STATUS_PAID
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await billing.api.MarkInvoiceUncollectible(S.MarkInvoiceUncollectibleRequest(id=first.id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(refused.value).reason == "INVOICE_UNEXPECTED_STATE"
    assert await billing.invoice(first.id) == first
    assert await billing.invoice(renewal.id) == renewal
