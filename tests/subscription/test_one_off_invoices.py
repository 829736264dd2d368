"""One-off invoices (Stripe's Invoice.create, finalize_invoice, modify, delete): a draft of
the customer's with no subscription, its items added (InvoiceItem.create's `invoice`) or the
customer's pending ones taken (pending_invoice_items_behavior include; exclude by default),
finalized (numbered, invoice.finalized) and paid with the customer's default payment method,
the money in the ledger; bad input refused naming the field, changing nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
from paycore.client import idempotency_key
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import executor_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PAYIN_TIMINGS, PayIn, Shop
from tests.subscription.billing import Billing, add_months, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 3, 10)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def _item(billing: Billing, amount: int, **fields: Any) -> S.InvoiceItem:
    item: S.InvoiceItem = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer, amount=amount, currency="usd", **fields
        )
    )
    return item


async def _create(billing: Billing, key: str | None = None, **fields: Any) -> S.Invoice:
    created: S.Invoice = await billing.api.CreateInvoice(
        S.CreateInvoiceRequest(customer=billing.customer, **fields),
        metadata=idempotency_key(key) if key else None,
    )
    return created


async def test_a_one_off_invoice_is_made_finalized_and_paid_with_the_customers_default(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    await billing.set_customer_default(billing.card)
    pending = await _item(billing, 700, description="Consulting")
    assert (pending.subscription, pending.invoice) == ("", "")

    # exclude (the default): the invoice starts empty and the pending item stays pending.
    fields: dict[str, Any] = {
        "description": "March work",
        "metadata": {"order": "7"},
        "auto_advance": False,
    }
    empty = await _create(billing, "one-off-1", **fields)
    assert empty.id.startswith("in_") and empty.status == S.INVOICE_STATUS_DRAFT
    assert (empty.subscription, empty.billing_reason) == ("", S.INVOICE_BILLING_REASON_MANUAL)
    assert (empty.description, dict(empty.metadata), empty.auto_advance) == (
        "March work",
        {"order": "7"},
        False,
    )
    assert (empty.number, empty.amount_due, list(empty.lines)) == ("", 0, [])
    assert empty.collection_method == "charge_automatically"
    assert (await _create(billing, "one-off-1", **fields)).id == empty.id  # replayed
    added = await _item(billing, 300, invoice=empty.id, description="Travel")
    assert added.invoice == empty.id
    drafted = await billing.invoice(empty.id)
    assert [(line.amount, line.description) for line in drafted.lines] == [(300, "Travel")]
    assert [(line.type, line.subscription) for line in drafted.lines] == [("invoiceitem", "")]
    assert (drafted.subtotal, drafted.total, drafted.amount_due) == (300, 300, 300)

    # include: the customer's pending item (no subscription's) is taken.
    taking = await _create(billing, pending_invoice_items_behavior="include")
    assert [line.amount for line in taking.lines] == [700] and taking.amount_due == 700
    assert (await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=pending.id))).invoice == (
        taking.id
    )

    finalized = await billing.api.FinalizeInvoice(S.FinalizeInvoiceRequest(id=empty.id))
    assert finalized.status == S.INVOICE_STATUS_OPEN and finalized.number
    moments = finalized.status_transitions
    assert moments.finalized_at >= empty.created and moments.paid_at == 0
    assert await billing.event_count("invoice.finalized") == 1
    refused = await failure(
        billing.api.FinalizeInvoice(S.FinalizeInvoiceRequest(id=empty.id)), PRECONDITION
    )
    assert refused.param == "id"
    paid = await billing.api.PayInvoice(S.PayInvoiceRequest(id=finalized.id))
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == (S.INVOICE_STATUS_PAID, 300, 0)
    assert paid.payment_intent.startswith("pi_")
    assert paid.status_transitions.paid_at == paid.paid_at >= moments.finalized_at
    # PayInvoice finalizes a draft as it pays it.
    second = await billing.api.PayInvoice(S.PayInvoiceRequest(id=taking.id))
    assert (second.status, second.amount_paid) == (S.INVOICE_STATUS_PAID, 700)
    assert second.number and second.number != paid.number
    await billing.assert_books(net([300, 700]))


async def test_updates_deletes_and_refusals_change_only_what_they_may(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    item = await _item(billing, 450)
    draft = await _create(billing, pending_invoice_items_behavior="include")
    changed = await billing.api.UpdateInvoice(
        S.UpdateInvoiceRequest(id=draft.id, description="Memo", metadata={"a": "1"})
    )
    assert (changed.description, dict(changed.metadata)) == ("Memo", {"a": "1"})
    assert await billing.event_count("invoice.updated") == 1

    deleted = await billing.api.DeleteInvoice(S.DeleteInvoiceRequest(id=draft.id))
    assert (deleted.id, deleted.deleted) == (draft.id, True)
    assert await billing.event_count("invoice.deleted") == 1
    await failure(billing.api.GetInvoice(S.GetInvoiceRequest(id=draft.id)), NOT_FOUND)
    # Its item is pending again: the next invoice that includes pending items takes it.
    assert (await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=item.id))).invoice == ""
    again = await _create(billing, pending_invoice_items_behavior="include")
    assert [line.amount for line in again.lines] == [450]

    # Nothing to charge: refused, and the draft stays a draft.
    no_method = await failure(
        billing.api.PayInvoice(S.PayInvoiceRequest(id=again.id)), PRECONDITION
    )
    assert no_method.param == "payment_method"
    assert (await billing.invoice(again.id)).status == S.INVOICE_STATUS_DRAFT

    opened = await billing.api.FinalizeInvoice(S.FinalizeInvoiceRequest(id=again.id))
    late = await failure(
        billing.api.UpdateInvoice(S.UpdateInvoiceRequest(id=opened.id, description="Late")),
        PRECONDITION,
    )
    assert late.param == "description"
    kept = await billing.api.UpdateInvoice(
        S.UpdateInvoiceRequest(id=opened.id, metadata={"b": "2"})
    )
    assert (kept.description, dict(kept.metadata)) == ("", {"b": "2"})
    undeletable = await failure(
        billing.api.DeleteInvoice(S.DeleteInvoiceRequest(id=opened.id)), PRECONDITION
    )
    assert undeletable.param == "id"
    voided = await billing.api.VoidInvoice(S.VoidInvoiceRequest(id=opened.id))
    assert voided.status == S.INVOICE_STATUS_VOID
    assert voided.status_transitions.voided_at >= voided.status_transitions.finalized_at > 0
    assert voided.status_transitions.marked_uncollectible_at == 0
    late_item = await failure(_item(billing, 100, invoice=opened.id), PRECONDITION)
    assert late_item.param == "invoice"

    # A draft with nothing due is paid as it is finalized, nothing charged.
    nothing = await _create(billing)
    closed = await billing.api.FinalizeInvoice(S.FinalizeInvoiceRequest(id=nothing.id))
    assert (closed.status, closed.amount_paid) == (S.INVOICE_STATUS_PAID, 0)
    await billing.assert_books(0)


async def test_bad_one_off_invoices_are_refused_naming_the_field(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    shard = logical_shard_of(shop.id, Prefix.ACCOUNT)
    unknown_customer = new_id(Prefix.CUSTOMER, shard)
    cases: list[tuple[dict[str, Any], grpc.StatusCode, str]] = [
        ({"customer": ""}, INVALID, "customer"),
        ({"customer": unknown_customer}, INVALID, "customer"),
        (
            {"pending_invoice_items_behavior": "include_and_require"},
            INVALID,
            "pending_invoice_items_behavior",
        ),
        ({"collection_method": "send_invoice"}, INVALID, "collection_method"),
        ({"description": "x" * 501}, INVALID, "description"),
        ({"currency": "usdx"}, INVALID, "currency"),
    ]
    for fields, code, param in cases:
        request = S.CreateInvoiceRequest(**{"customer": billing.customer, **fields})
        error = await failure(billing.api.CreateInvoice(request), code)
        assert error.param == param, (fields, error)
    assert await billing.event_count("invoice.created") == 0

    eur = await _create(billing, currency="eur")
    mismatch = await failure(_item(billing, 500, invoice=eur.id), INVALID)
    assert mismatch.param == "currency"
    unknown_invoice = new_id(Prefix.INVOICE, shard)
    missing = await failure(_item(billing, 500, invoice=unknown_invoice), INVALID)
    assert missing.param == "invoice"
    # Below the least charge (50 cents in usd): nothing to carry it to, not finalized.
    small = await _create(billing)
    await _item(billing, 20, invoice=small.id)
    too_small = await failure(
        billing.api.FinalizeInvoice(S.FinalizeInvoiceRequest(id=small.id)), INVALID
    )
    assert too_small.param == "id"
    assert (await billing.invoice(small.id)).status == S.INVOICE_STATUS_DRAFT


async def test_a_subscriptions_invoice_lines_name_their_type_and_subscription(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    subscription = await billing.subscribe([(await billing.price(1000), 1)])
    await _item(billing, 250, subscription=subscription.id)
    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(subscription.id))[-1]
    assert [(line.type, line.subscription) for line in renewal.lines] == [
        ("subscription", subscription.id),
        ("invoiceitem", subscription.id),
    ]
    assert renewal.status_transitions.finalized_at == add_months(START, 1)
    assert renewal.status_transitions.paid_at == renewal.paid_at > 0


async def test_a_charge_answered_after_pay_invoice_gave_up_waiting_is_settled_by_billing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    await billing.set_customer_default(billing.card)
    invoice = await _create(billing)
    await _item(billing, 1500, invoice=invoice.id)
    await psp.set_faults(down=True)
    waiting = await billing.api.PayInvoice(S.PayInvoiceRequest(id=invoice.id))
    assert waiting.status == S.INVOICE_STATUS_OPEN and waiting.payment_intent
    # The PSP stayed down: the charge is dead-lettered, the invoice left charging.
    executions = await shop.operator.executor.ListExecutions(
        executor_pb2.ListExecutionsRequest(payment_intent=waiting.payment_intent)
    )
    (execution,) = executions.data
    deadline = time.monotonic() + 20
    while execution.state != executor_pb2.EXECUTION_STATE_DEAD_LETTERED:
        assert time.monotonic() < deadline, execution
        await billing.work_once()
        await asyncio.sleep(0.1)
        execution = await shop.operator.executor.GetExecution(
            executor_pb2.GetExecutionRequest(id=execution.id)
        )
    assert (await billing.invoice(invoice.id)).status == S.INVOICE_STATUS_OPEN
    await psp.set_faults(down=False)
    await asyncio.sleep(PAYIN_TIMINGS["psp_breaker_open_ms"] / 1000)  # the breaker half-opens
    await shop.operator.executor.RequeueDeadLetter(
        executor_pb2.RequeueDeadLetterRequest(id=execution.id)
    )
    paid = await billing.wait_invoice(invoice.id, S.INVOICE_STATUS_PAID)
    assert (paid.status, paid.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
    assert await billing.event_count("invoice.paid") == 1
    await billing.assert_books(net([1500]))
