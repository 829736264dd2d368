"""One-off invoice items (issue 7): an item goes, as one non-proration line, on the next invoice
of its subscription and on no later one; a negative item is a credit; bad input is refused
naming the field and creates nothing."""

from __future__ import annotations

from typing import Any

import grpc
from grpc import aio
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import subscription_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import add_months, item_lines, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 3, 10)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


async def test_an_item_is_billed_once_on_the_next_renewal_and_a_credit_lowers_it(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    setup_fee = await billing.price(250, recurring=None)
    subscription = await billing.subscribe([(monthly, 1)])
    paid = [1000]
    await billing.assert_books(net(paid))

    fee_item = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer,
            subscription=subscription.id,
            price=setup_fee,
            quantity=3,
            description="Installation",
            metadata={"ticket": "42"},
        )
    )
    assert fee_item.id.startswith("ii_")
    assert (fee_item.amount, fee_item.currency, fee_item.quantity) == (750, "usd", 3)
    assert (fee_item.price, fee_item.invoice) == (setup_fee, "")
    extra = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer,
            subscription=subscription.id,
            amount=120,
            currency="usd",
            description="Extra support hour",
        )
    )
    assert (extra.amount, extra.quantity, extra.price) == (120, 1, "")
    assert await billing.event_count("invoiceitem.created") == 2
    await billing.assert_books(net(paid))

    second = add_months(START, 1)
    await billing.advance(second)
    renewal = (await billing.invoices(subscription.id))[-1]
    assert renewal.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_CYCLE
    assert renewal.status == S.INVOICE_STATUS_PAID, renewal
    assert sorted(
        (line.price, line.quantity, line.amount, line.description, line.proration)
        for line in renewal.lines
        if line.price != monthly
    ) == sorted(
        [(setup_fee, 3, 750, "Installation", False), ("", 1, 120, "Extra support hour", False)]
    )
    for line in renewal.lines:
        assert (line.period_start, line.period_end) == (renewal.period_start, renewal.period_end)
    assert renewal.amount_paid == 1000 + 3 * 250 + 120
    paid.append(renewal.amount_paid)
    await billing.assert_books(net(paid))
    for item in (fee_item, extra):
        billed = await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=item.id))
        assert billed.invoice == renewal.id

    credit = await billing.api.CreateInvoiceItem(
        S.CreateInvoiceItemRequest(
            customer=billing.customer,
            subscription=subscription.id,
            amount=-300,
            currency="usd",
            description="Goodwill credit",
        )
    )
    await billing.advance(add_months(START, 2))
    third = (await billing.invoices(subscription.id))[-1]
    assert third.id != renewal.id
    # The items billed on the second invoice are not billed again; the credit is.
    assert sorted((line.amount, line.price) for line in item_lines(third)) == [
        (-300, ""),
        (1000, monthly),
    ]
    assert third.amount_paid == 700
    paid.append(700)
    await billing.assert_books(net(paid))
    assert (await billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=credit.id))).invoice == (
        third.id
    )


async def test_bad_invoice_items_are_refused_naming_the_field_and_create_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    monthly = await billing.price(1000)
    one_time_eur = await billing.price(400, "eur", recurring=None)
    subscription = await billing.subscribe([(monthly, 1)])
    other = await new_customer(shop.client, email="other@shop.test", name="Other")
    unknown = new_id(Prefix.SUBSCRIPTION, logical_shard_of(shop.id, Prefix.ACCOUNT))
    good: dict[str, Any] = {
        "customer": billing.customer,
        "subscription": subscription.id,
        "amount": 500,
        "currency": "usd",
    }
    price_only = {"amount": 0, "currency": ""}
    cases: list[tuple[str, dict[str, Any], set[grpc.StatusCode], str]] = [
        ("recurring price", {**price_only, "price": monthly}, {INVALID}, "price"),
        ("price in another currency", {**price_only, "price": one_time_eur}, {INVALID}, "price"),
        ("currency mismatch", {"currency": "eur"}, {INVALID}, "currency"),
        ("unknown subscription", {"subscription": unknown}, {INVALID}, "subscription"),
        ("zero amount", {"amount": 0}, {INVALID}, "amount"),
        ("another customer's subscription", {"customer": other.id}, {INVALID}, "subscription"),
        ("no customer", {"customer": ""}, {INVALID}, "customer"),
        (
            "negative quantity",
            {**price_only, "price": monthly, "quantity": -1},
            {INVALID},
            "quantity",
        ),
        ("long description", {"description": "x" * 501}, {INVALID}, "description"),
    ]
    for what, changes, codes, param in cases:
        try:
            await billing.api.CreateInvoiceItem(S.CreateInvoiceItemRequest(**{**good, **changes}))
        except aio.AioRpcError as refused:
            error = rich_error(refused)
            assert error.code in codes, (what, error)
            assert error.param == param, (what, error)
        else:
            raise AssertionError(f"{what}: accepted")
    assert await billing.event_count("invoiceitem.created") == 0
    unknown_item = new_id(Prefix.INVOICE_ITEM, logical_shard_of(shop.id, Prefix.ACCOUNT))
    missing = await failure(
        billing.api.GetInvoiceItem(S.GetInvoiceItemRequest(id=unknown_item)), NOT_FOUND
    )
    assert missing.param == "id"
    # Nothing was pending: the renewal bills the subscription's price only.
    await billing.advance(add_months(START, 1))
    renewal = (await billing.invoices(subscription.id))[-1]
    assert [line.amount for line in renewal.lines] == [1000]
    await billing.assert_books(net([1000, 1000]))
