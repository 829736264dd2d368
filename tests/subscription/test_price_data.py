"""Stripe's `price_data` on subscription items: CreateSubscription and UpdateSubscription take,
instead of a price id, the price itself (currency, product, unit_amount, recurring[interval]),
and make it inline: a new price of the product, inactive so that nothing else takes it, which
the item bills from then on. Bad price_data is refused naming its field and creates nothing,
not even the price (docs/subscriptions.md, "Inline prices")."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop
from tests.subscription.billing import (
    Billing,
    add_months,
    captured,
    item_lines,
    net,
    open_billing,
    utc,
)
from tests.subscription.support import MONTHLY

S = subscription_pb2
START = utc(2028, 5, 3)
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _data(billing: Billing, unit_amount: int, **fields: Any) -> S.PriceData:
    values: dict[str, Any] = {
        "currency": "usd",
        "product": billing.product,
        "unit_amount": unit_amount,
        "recurring": MONTHLY,
    }
    values.update(fields)
    return S.PriceData(**{name: value for name, value in values.items() if value is not None})


async def _prices(billing: Billing) -> list[S.Price]:
    listed = await billing.api.ListPrices(S.ListPricesRequest(limit=100))
    return list(listed.data)


async def _price(billing: Billing, price_id: str) -> S.Price:
    found: S.Price = await billing.api.GetPrice(S.GetPriceRequest(id=price_id))
    return found


async def test_an_item_with_price_data_bills_a_price_made_inline(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    request = S.CreateSubscriptionRequest(
        customer=billing.customer,
        items=[S.CreateSubscriptionRequest.Item(price_data=_data(billing, 1234), quantity=2)],
        default_payment_method=billing.card,
        test_clock=billing.clock_id,
    )

    created = await billing.api.CreateSubscription(request)

    assert created.status == S.SUBSCRIPTION_STATUS_ACTIVE
    (item,) = created.items
    inline = await _price(billing, item.price.id)
    assert (inline.product, inline.unit_amount, inline.currency, inline.active) == (
        billing.product,
        1234,
        "usd",
        False,
    )
    assert inline.recurring.interval == S.RECURRING_INTERVAL_MONTH
    first = await billing.invoice(created.latest_invoice)
    assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_PAID, 2468)
    assert [(line.price, line.quantity) for line in item_lines(first)] == [(inline.id, 2)]
    # Inactive: no other subscription takes it.
    taken = S.CreateSubscriptionRequest(
        customer=billing.customer,
        items=[S.CreateSubscriptionRequest.Item(price=inline.id)],
        default_payment_method=billing.card,
        test_clock=billing.clock_id,
    )
    error = await failure(billing.api.CreateSubscription(taken), INVALID)
    assert error.param == "items[0].price"

    # An update moves the item to another inline price; the next renewal bills it.
    updated = await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(id=item.id, price_data=_data(billing, 2000))],
        proration_behavior=S.PRORATION_BEHAVIOR_NONE,
    )
    (moved,) = updated.items
    assert moved.id == item.id and moved.price.id not in (inline.id, "")
    assert (await _price(billing, moved.price.id)).unit_amount == 2000
    # And one added with price_data.
    added = await billing.update(
        created.id,
        items=[S.UpdateSubscriptionRequest.Item(price_data=_data(billing, 300))],
        proration_behavior=S.PRORATION_BEHAVIOR_NONE,
    )
    assert len(added.items) == 2
    await billing.advance(add_months(START, 1) + 3600)
    renewal = (await billing.invoices(created.id))[-1]
    assert (renewal.status, renewal.amount_paid) == (S.INVOICE_STATUS_PAID, 2 * 2000 + 300)
    assert [charge.amount for charge in captured(psp)] == [2468, 4300]
    await billing.assert_books(net([2468, 4300]))


async def test_bad_price_data_is_refused_naming_the_field_and_creates_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1000)
    unknown_product = new_id(Prefix.PRODUCT, logical_shard_of(shop.id, Prefix.ACCOUNT))
    before = await _prices(billing)
    cases: list[tuple[S.CreateSubscriptionRequest.Item, grpc.StatusCode, str]] = [
        (
            S.CreateSubscriptionRequest.Item(price=price, price_data=_data(billing, 100)),
            INVALID,
            "items[0].price_data",
        ),
        (
            S.CreateSubscriptionRequest.Item(price_data=_data(billing, 100, recurring=None)),
            INVALID,
            "items[0].price_data.recurring",
        ),
        (
            S.CreateSubscriptionRequest.Item(price_data=_data(billing, 0)),
            INVALID,
            "items[0].price_data.unit_amount",
        ),
        (
            S.CreateSubscriptionRequest.Item(price_data=_data(billing, 100, currency="")),
            INVALID,
            "items[0].price_data.currency",
        ),
        (
            S.CreateSubscriptionRequest.Item(
                price_data=_data(billing, 100, product=unknown_product)
            ),
            INVALID,  # resource_missing, as Stripe answers an unknown id in a parameter
            "items[0].price_data.product",
        ),
    ]
    for item, code, param in cases:
        request = S.CreateSubscriptionRequest(
            customer=billing.customer,
            items=[item],
            default_payment_method=billing.card,
            test_clock=billing.clock_id,
        )
        error = await failure(billing.api.CreateSubscription(request), code)
        assert error.param == param, (param, error)
    # A good inline price with another item in another currency: the create is refused, and
    # the inline price made in its transaction is gone with it.
    mixed = S.CreateSubscriptionRequest(
        customer=billing.customer,
        items=[
            S.CreateSubscriptionRequest.Item(price=price),
            S.CreateSubscriptionRequest.Item(price_data=_data(billing, 100, currency="eur")),
        ],
        default_payment_method=billing.card,
        test_clock=billing.clock_id,
    )
    await failure(billing.api.CreateSubscription(mixed), INVALID)
    assert [p.id for p in await _prices(billing)] == [p.id for p in before]
    listed = await billing.api.ListSubscriptions(
        S.ListSubscriptionsRequest(customer=billing.customer)
    )
    assert list(listed.data) == []
    assert captured(psp) == []
