"""Stripe's SubscriptionItem routes (retrieve, create, modify, delete) as UpdateSubscription's
item changes: the same proration (create_prorations pending, always_invoice billed and charged
in the call, none), the books balanced; refusals name the request's own fields; a create
replayed with its key adds one item."""

from __future__ import annotations

import grpc
from paycore.client import idempotency_key
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import add_months, captured, net, open_billing, share, utc

S = subscription_pb2
START = utc(2028, 4, 30)
END = add_months(START, 1)
AT = START + 11 * 86_400 + 7 * 3600
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


async def test_items_added_changed_and_removed_prorate_as_a_subscription_update(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    base, extra = await billing.price(1000), await billing.price(600)
    created = await billing.subscribe([(base, 1)])
    await billing.advance(AT)

    request = S.CreateSubscriptionItemRequest(
        subscription=created.id,
        price=extra,
        quantity=2,
        metadata={"seat": "b"},
        proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
    )
    added = await billing.api.CreateSubscriptionItem(request, metadata=idempotency_key("si-1"))
    again = await billing.api.CreateSubscriptionItem(request, metadata=idempotency_key("si-1"))
    assert added.id.startswith("si_") and again.id == added.id
    assert (added.price.id, added.quantity, added.subscription) == (extra, 2, created.id)
    assert dict(added.metadata) == {"seat": "b"}
    assert (added.current_period_start, added.current_period_end) == (START, END)
    charge = share(1200, START, END, AT)
    update = (await billing.invoices(created.id))[-1]
    assert update.billing_reason == S.INVOICE_BILLING_REASON_SUBSCRIPTION_UPDATE
    assert (update.status, update.amount_paid) == (S.INVOICE_STATUS_PAID, charge)
    assert [each.amount for each in captured(psp)] == [1000, charge]
    subscription = await billing.subscription(created.id)
    assert [(item.price.id, item.quantity) for item in subscription.items] == [
        (base, 1),
        (extra, 2),
    ]

    changed = await billing.api.UpdateSubscriptionItem(
        S.UpdateSubscriptionItemRequest(id=added.id, quantity=3, metadata={"tier": "x"})
    )
    assert (changed.quantity, dict(changed.metadata)) == (3, {"seat": "b", "tier": "x"})
    invoiced = len(await billing.invoices(created.id))
    tagged = await billing.api.UpdateSubscriptionItem(
        S.UpdateSubscriptionItemRequest(
            id=added.id,
            metadata={"note": "n"},
            proration_behavior=S.PRORATION_BEHAVIOR_ALWAYS_INVOICE,
        )
    )
    assert tagged.metadata["note"] == "n"  # its metadata alone: nothing to prorate or bill
    assert len(await billing.invoices(created.id)) == invoiced
    read = await billing.api.GetSubscriptionItem(S.GetSubscriptionItemRequest(id=added.id))
    assert (read.quantity, read.price.id, read.subscription) == (3, extra, created.id)
    # create_prorations (the default): the quantity's proration waits for the renewal.
    removed = await billing.api.DeleteSubscriptionItem(
        S.DeleteSubscriptionItemRequest(id=added.id, proration_behavior=S.PRORATION_BEHAVIOR_NONE)
    )
    assert (removed.id, removed.deleted) == (added.id, True)
    await failure(
        billing.api.GetSubscriptionItem(S.GetSubscriptionItemRequest(id=added.id)), NOT_FOUND
    )
    last = (await billing.subscription(created.id)).items[0]
    refused = await failure(
        billing.api.DeleteSubscriptionItem(S.DeleteSubscriptionItemRequest(id=last.id)), INVALID
    )
    assert refused.param == "id"
    await billing.advance(END)
    renewal = (await billing.invoices(created.id))[-1]
    # 2 -> 3 seats for the rest of the period: the 2 credited, the 3 charged.
    credit, seats = -share(1200, START, END, AT), share(1800, START, END, AT)
    assert sorted(line.amount for line in renewal.lines) == sorted([credit, seats, 1000])
    await billing.assert_books(net([1000, charge, 1000 + credit + seats]))


async def test_bad_item_requests_name_their_own_fields_and_change_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    base = await billing.price(1000)
    one_time = await billing.price(300, recurring=None)
    eur = await billing.price(900, "eur")
    created = await billing.subscribe([(base, 1)])
    item = created.items[0]
    cases = [
        (S.CreateSubscriptionItemRequest(subscription=created.id), "price"),
        (S.CreateSubscriptionItemRequest(subscription=created.id, price=one_time), "price"),
        (S.CreateSubscriptionItemRequest(subscription=created.id, price=eur), "price"),
        (S.CreateSubscriptionItemRequest(subscription=created.id, price=base), "price"),
        (S.CreateSubscriptionItemRequest(subscription="", price=base), "subscription"),
        (
            S.CreateSubscriptionItemRequest(subscription=created.id, price=base, quantity=0),
            "quantity",
        ),
    ]
    for request, param in cases:
        error = await failure(billing.api.CreateSubscriptionItem(request), INVALID)
        assert error.param == param, (request, error)
    bad_update = await failure(
        billing.api.UpdateSubscriptionItem(S.UpdateSubscriptionItemRequest(id=item.id, price=eur)),
        INVALID,
    )
    assert bad_update.param == "price"
    subscription = await billing.subscription(created.id)
    assert [(each.id, each.price.id, each.quantity) for each in subscription.items] == [
        (item.id, base, 1)
    ]
    assert len(await billing.invoices(created.id)) == 1
