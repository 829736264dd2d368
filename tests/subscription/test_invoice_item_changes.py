"""Invoice items listed, changed and deleted (Stripe's InvoiceItem.list / modify / delete):
ListInvoiceItems by customer, invoice and pending; UpdateInvoiceItem and DeleteInvoiceItem of
a pending item, the renewal billing the item as changed and not the deleted one; an item an
invoice has taken is no longer editable; each change idempotent under its key."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from grpc import aio
from paycore.client import idempotency_key
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import Billing, add_months, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 5, 3)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def listed(billing: Billing, **filters: Any) -> list[str]:
    page = await billing.api.ListInvoiceItems(S.ListInvoiceItemsRequest(limit=100, **filters))
    return [item.id for item in page.data]


async def new_item(billing: Billing, subscription: str, **fields: Any) -> S.InvoiceItem:
    made: S.InvoiceItem = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(customer=billing.customer, subscription=subscription, **fields)
    )
    return made


async def test_pending_items_are_listed_changed_and_deleted_and_the_renewal_bills_them_so(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    setup = await billing.price(150, recurring=None)
    subscription = await billing.subscribe([(monthly, 1)])
    seats = await new_item(billing, subscription.id, price=setup, quantity=2)
    support = await new_item(
        billing, subscription.id, amount=500, currency="usd", metadata={"a": "1", "b": "2"}
    )
    goodwill = await new_item(billing, subscription.id, amount=-100, currency="usd")
    newest_first = [goodwill.id, support.id, seats.id]
    assert await listed(billing) == newest_first
    assert await listed(billing, customer=billing.customer) == newest_first
    assert await listed(billing, pending=True) == newest_first
    assert await listed(billing, pending=False) == []
    page = await billing.api.ListInvoiceItems(S.ListInvoiceItemsRequest(limit=1))
    assert ([i.id for i in page.data], page.has_more) == ([goodwill.id], True)
    after = await billing.api.ListInvoiceItems(
        S.ListInvoiceItemsRequest(limit=5, starting_after=goodwill.id)
    )
    assert [i.id for i in after.data] == [support.id, seats.id]

    three = await billing.api.UpdateInvoiceItem(
        S.UpdateInvoiceItemRequest(id=seats.id, quantity=3), metadata=idempotency_key("u-1")
    )
    assert (three.quantity, three.amount, three.price) == (3, 450, setup)
    change = S.UpdateInvoiceItemRequest(
        id=support.id, amount=700, description="Two support hours", metadata={"a": "", "c": "3"}
    )
    changed = await billing.api.UpdateInvoiceItem(change, metadata=idempotency_key("u-2"))
    assert (changed.amount, changed.description) == (700, "Two support hours")
    assert dict(changed.metadata) == {"b": "2", "c": "3"}
    again = await billing.api.UpdateInvoiceItem(change, metadata=idempotency_key("u-2"))
    assert again == changed
    read = await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=support.id))
    assert read == changed

    # Bad changes name the field and change nothing.
    cases: list[tuple[S.UpdateInvoiceItemRequest, str]] = [
        (S.UpdateInvoiceItemRequest(id=seats.id, amount=900), "amount"),
        (S.UpdateInvoiceItemRequest(id=support.id, quantity=2), "quantity"),
        (S.UpdateInvoiceItemRequest(id=support.id, amount=0), "amount"),
        (S.UpdateInvoiceItemRequest(id=support.id, description="x" * 501), "description"),
        (S.UpdateInvoiceItemRequest(id=seats.id, quantity=0), "quantity"),
    ]
    for request, param in cases:
        refused = await failure(billing.api.UpdateInvoiceItem(request), INVALID)
        assert refused.param == param, (request, refused)
    assert await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=support.id)) == changed

    delete = S.DeleteInvoiceItemRequest(id=goodwill.id)
    gone = await billing.api.DeleteInvoiceItem(delete, metadata=idempotency_key("d-1"))
    assert (gone.id, gone.deleted) == (goodwill.id, True)
    assert await billing.api.DeleteInvoiceItem(delete, metadata=idempotency_key("d-1")) == gone
    missing = await failure(
        billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=goodwill.id)), NOT_FOUND
    )
    assert missing.param == "id"
    assert await billing.event_count("invoiceitem.deleted") == 1
    assert await listed(billing) == [support.id, seats.id]

    # The renewal bills the items as changed, not the deleted one.
    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(subscription.id))[-1]
    assert sorted(line.amount for line in renewal.lines) == [450, 700, 1000]
    assert renewal.amount_paid == 2150
    await billing.assert_books(net([1000, 2150]))
    assert await listed(billing, invoice=renewal.id) == [support.id, seats.id]
    assert await listed(billing, pending=False) == [support.id, seats.id]
    assert await listed(billing, pending=True) == []

    # Billed: no longer editable.
    for call in (
        billing.api.UpdateInvoiceItem(S.UpdateInvoiceItemRequest(id=seats.id, quantity=5)),
        billing.api.DeleteInvoiceItem(S.DeleteInvoiceItemRequest(id=seats.id)),
    ):
        refused = await failure(call, PRECONDITION)
        assert (refused.reason, refused.param) == ("INVOICE_NOT_EDITABLE", "id")
    billed = await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=seats.id))
    assert (billed.amount, billed.invoice) == (450, renewal.id)

    unknown = await failure(
        billing.api.ListInvoiceItems(S.ListInvoiceItemsRequest(customer="cus_nope")), INVALID
    )
    assert unknown.param == "customer"


async def test_a_delete_racing_the_renewal_either_removes_the_item_or_is_refused(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    """DeleteInvoiceItem at the moment the renewal takes the subscription's pending items (a
    billing pass side by side): the item is either deleted and not billed, or billed and the
    delete refused, never both nor neither."""
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    subscription = await billing.subscribe([(monthly, 1)])
    extra = await new_item(billing, subscription.id, amount=400, currency="usd")
    await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=add_months(START, 1))
    )
    job = payin.platform.billing_clock
    passes = [job.run(engine) for engine in payin.platform.shards.engines]
    delete = billing.api.DeleteInvoiceItem(S.DeleteInvoiceItemRequest(id=extra.id))
    *_, deleted = await asyncio.gather(*passes, delete, return_exceptions=True)
    await billing.settle()

    renewal = (await billing.invoices(subscription.id))[-1]
    if isinstance(deleted, BaseException):
        assert isinstance(deleted, aio.AioRpcError), deleted
        assert rich_error(deleted).reason == "INVOICE_NOT_EDITABLE"
        assert sorted(line.amount for line in renewal.lines) == [400, 1000]
        billed = await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=extra.id))
        assert billed.invoice == renewal.id
    else:
        assert deleted.deleted
        assert [line.amount for line in renewal.lines] == [1000]
    await billing.assert_books(net([1000, renewal.amount_paid]))
