"""Acceptance (issue 7): bad input to CreateSubscription gets INVALID_ARGUMENT (or NOT_FOUND for
what does not exist) naming the field, and creates nothing: no subscription, no invoice, no
event, no PSP charge."""

from __future__ import annotations

from typing import Any

import grpc
from grpc import aio
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator, rich_error
from tests.payment.shop import PayIn, Shop, good_card, open_shop
from tests.subscription.billing import net, open_billing, psp_charges, utc
from tests.subscription.support import new_product

S = subscription_pb2
START = utc(2028, 6, 1)
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


def _item(price: str, quantity: int = 1) -> S.CreateSubscriptionRequest.Item:
    return S.CreateSubscriptionRequest.Item(price=price, quantity=quantity)


async def test_bad_subscriptions_are_refused_naming_the_field_and_create_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    usd = await billing.price(1000)
    other_usd = await billing.price(1500)
    eur = await billing.price(1000, "eur")
    one_time = await billing.price(700, recurring=None)
    yearly = await billing.price(
        9000, recurring=S.Recurring(interval=S.RECURRING_INTERVAL_YEAR, interval_count=1)
    )
    inactive = await billing.api.CreatePrice(
        S.CreatePriceRequest(
            product=billing.product,
            unit_amount=1000,
            currency="usd",
            recurring=S.Recurring(interval=S.RECURRING_INTERVAL_MONTH, interval_count=1),
            active=False,
        )
    )
    shard = logical_shard_of(shop.id, Prefix.ACCOUNT)
    unknown_price = new_id(Prefix.PRICE, shard)
    unknown_customer = new_id(Prefix.CUSTOMER, shard)
    stranger = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    try:
        foreign_clock = await stranger.client.subscriptions.CreateTestClock(
            S.CreateTestClockRequest(frozen_time=START)
        )
        foreign_product = await new_product(stranger.client)
        foreign_price = await stranger.client.subscriptions.CreatePrice(
            S.CreatePriceRequest(
                product=foreign_product.id,
                unit_amount=1000,
                currency="usd",
                recurring=S.Recurring(interval=S.RECURRING_INTERVAL_MONTH, interval_count=1),
            )
        )
    finally:
        await stranger.close()
    unattached_card = await shop.card(good_card())
    good: dict[str, Any] = {
        "customer": billing.customer,
        "items": [_item(usd)],
        "default_payment_method": billing.card,
        "test_clock": billing.clock_id,
    }
    # (what is wrong, the request's fields that differ from a good one, codes, param)
    cases: list[tuple[str, dict[str, Any], set[grpc.StatusCode], str]] = [
        (
            "unknown price",
            {"items": [_item(unknown_price)]},
            {INVALID, NOT_FOUND},
            "items[0].price",
        ),
        (
            "another merchant's price",
            {"items": [_item(foreign_price.id)]},
            {INVALID, NOT_FOUND},
            "items[0].price",
        ),
        ("currency mismatch", {"items": [_item(usd), _item(eur)]}, {INVALID}, "items[1].price"),
        ("negative quantity", {"items": [_item(usd, -1)]}, {INVALID}, "items[0].quantity"),
        # Issue 7: "zero quantity" is bad input; only an absent quantity means 1.
        ("zero quantity", {"items": [_item(usd, 0)]}, {INVALID}, "items[0].quantity"),
        (
            "zero quantity on the second item",
            {"items": [_item(usd), _item(other_usd, 0)]},
            {INVALID},
            "items[1].quantity",
        ),
        (
            "negative quantity on the second item",
            {"items": [_item(usd), _item(other_usd, -3)]},
            {INVALID},
            "items[1].quantity",
        ),
        ("one-time price", {"items": [_item(one_time)]}, {INVALID}, "items[0].price"),
        ("inactive price", {"items": [_item(inactive.id)]}, {INVALID}, "items[0].price"),
        (
            "two intervals",
            {"items": [_item(usd), _item(yearly)]},
            {INVALID},
            "items[1].price",
        ),
        ("no items", {"items": []}, {INVALID}, "items"),
        ("trial in the past", {"trial_period_days": -1}, {INVALID}, "trial_period_days"),
        ("trial too long", {"trial_period_days": 731}, {INVALID}, "trial_period_days"),
        ("unknown customer", {"customer": unknown_customer}, {INVALID}, "customer"),
        ("no customer", {"customer": ""}, {INVALID}, "customer"),
        ("another merchant's clock", {"test_clock": foreign_clock.id}, {INVALID}, "test_clock"),
        (
            "card not attached to the customer",
            {"default_payment_method": unattached_card},
            {INVALID, NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION},
            "default_payment_method",
        ),
    ]
    for what, changes, codes, param in cases:
        request = S.CreateSubscriptionRequest(**{**good, **changes})
        try:
            await billing.api.CreateSubscription(request)
        except aio.AioRpcError as refused:
            error = rich_error(refused)
            assert error.code in codes, (what, error)
            assert error.param == param, (what, error)
        else:
            raise AssertionError(f"{what}: accepted")
    duplicate = await failure(
        billing.api.CreateSubscription(
            S.CreateSubscriptionRequest(**{**good, "items": [_item(usd), _item(usd)]})
        ),
        INVALID,
    )
    assert (duplicate.param or "").startswith("items"), duplicate
    too_many = await failure(
        billing.api.CreateSubscription(
            S.CreateSubscriptionRequest(**{**good, "items": [_item(usd)] * 21})
        ),
        INVALID,
    )
    assert (too_many.param or "").startswith("items"), too_many

    for status in (
        S.SUBSCRIPTION_STATUS_FILTER_UNSPECIFIED,
        S.SUBSCRIPTION_STATUS_FILTER_INCOMPLETE,
        S.SUBSCRIPTION_STATUS_FILTER_CANCELED,
        S.SUBSCRIPTION_STATUS_FILTER_ALL,
    ):
        listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest(status=status))
        assert list(listed.data) == [], status
    assert await billing.invoices() == []
    assert psp_charges(psp) == []
    assert await billing.event_count("customer.subscription.*") == 0
    assert await billing.event_count("invoice.*") == 0
    await billing.assert_books(0)


async def test_a_clock_moves_only_forward_by_at_most_two_years_and_not_while_advancing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1000)
    await billing.subscribe([(price, 1)])
    for to in (START, START - 1, utc(2030, 7, 1)):  # not later; more than two years ahead
        error = await failure(
            billing.api.AdvanceTestClock(
                S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=to)
            ),
            INVALID,
        )
        assert error.param == "frozen_time", (to, error)
    assert (await billing.clock()).frozen_time == START

    advancing = await billing.api.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=utc(2028, 7, 2))
    )
    assert advancing.status == S.TEST_CLOCK_STATUS_ADVANCING
    busy = await failure(
        billing.api.AdvanceTestClock(
            S.AdvanceTestClockRequest(id=billing.clock_id, frozen_time=utc(2028, 8, 2))
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert busy.reason == "TEST_CLOCK_ADVANCING", busy
    clock = await billing.settle()
    assert (clock.frozen_time, clock.status) == (utc(2028, 7, 2), S.TEST_CLOCK_STATUS_READY)
    assert len(await billing.invoices()) == 2


async def test_calls_on_the_wrong_status_are_refused_and_change_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(1000)
    created = await billing.subscribe([(price, 1)])
    (paid,) = await billing.invoices(created.id)
    precondition = grpc.StatusCode.FAILED_PRECONDITION
    for call in (
        billing.api.PayInvoice(S.PayInvoiceRequest(id=paid.id)),
        billing.api.VoidInvoice(S.VoidInvoiceRequest(id=paid.id)),
    ):
        await failure(call, precondition)
    assert await billing.invoice(paid.id) == paid
    await billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id))
    ended = await billing.subscription(created.id)
    for call in (
        billing.api.CancelSubscription(S.CancelSubscriptionRequest(id=created.id)),
        billing.api.UpdateSubscription(
            S.UpdateSubscriptionRequest(
                id=created.id,
                items=[S.UpdateSubscriptionRequest.Item(id=ended.items[0].id, quantity=2)],
            )
        ),
    ):
        await failure(call, precondition)
    assert await billing.subscription(created.id) == ended
    assert [charge.amount for charge in psp_charges(psp)] == [1000]
    await billing.assert_books(net([1000]))


async def test_a_subscription_whose_invoice_could_never_be_charged_is_refused(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    # Each price is within paycore's largest amount (99,999,999 minor units), their period's
    # total is not: no payment intent could collect that invoice.
    billing = await open_billing(payin, shop, psp, START)
    price = await billing.price(99_999_999)

    error = await failure(billing.subscribe([(price, 2)]), INVALID)

    assert error.reason == "AMOUNT_TOO_LARGE", error
    assert (error.param or "").startswith("items"), error
    listed = await billing.api.ListSubscriptions(S.ListSubscriptionsRequest())
    assert list(listed.data) == []
    assert await billing.invoices() == []
    assert psp_charges(psp) == []
