"""CreateSubscription's refusals (each creates nothing) and the billing job run by two workers
at once (each period billed and charged once)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from paycore.v1 import subscription_pb2
from paycore.worker.jobs import subscription_billing

from tests.helpers import rich_error
from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, MONTHLY, Billed, new_price, new_product

S = subscription_pb2
Item = S.CreateSubscriptionRequest.Item


async def test_bad_input_is_refused_naming_the_field_and_creates_nothing(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    product = await new_product(shop.client)
    euro = (await new_price(shop.client, product.id, 900, "eur", recurring=MONTHLY)).id
    one_off = (await new_price(shop.client, product.id, 900)).id
    unknown = "price_" + "0" * 22
    cases: list[tuple[dict[str, Any], grpc.StatusCode, str, str]] = [
        ({"items": [Item(price=unknown)]}, grpc.StatusCode.INVALID_ARGUMENT, "items[0].price", ""),
        (
            {"items": [Item(price=billed.price), Item(price=euro)]},
            grpc.StatusCode.INVALID_ARGUMENT,
            "items[1].price",
            "CURRENCY_MISMATCH",
        ),
        (
            {"items": [Item(price=billed.price, quantity=-1)]},
            grpc.StatusCode.INVALID_ARGUMENT,
            "items[0].quantity",
            "",
        ),
        ({"items": [Item(price=one_off)]}, grpc.StatusCode.INVALID_ARGUMENT, "items[0].price", ""),
        ({"trial_period_days": -1}, grpc.StatusCode.INVALID_ARGUMENT, "trial_period_days", ""),
        ({"trial_period_days": 731}, grpc.StatusCode.INVALID_ARGUMENT, "trial_period_days", ""),
        ({"customer": "cus_" + "0" * 22}, grpc.StatusCode.INVALID_ARGUMENT, "customer", ""),
        ({"items": []}, grpc.StatusCode.INVALID_ARGUMENT, "items", ""),
    ]
    for fields, code, param, reason in cases:
        request = S.CreateSubscriptionRequest(
            customer=billed.customer,
            items=[Item(price=billed.price)],
            default_payment_method=billed.card,
            test_clock=billed.clock,
        )
        for name, value in fields.items():
            if name == "items":
                del request.items[:]
                request.items.extend(value)
            else:
                setattr(request, name, value)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await shop.client.subscriptions.CreateSubscription(request)
        error = rich_error(raised.value)
        assert (raised.value.code(), error.metadata["param"]) == (code, param), fields
        assert not reason or error.reason == reason
    listed = await shop.client.subscriptions.ListSubscriptions(S.ListSubscriptionsRequest())
    invoices = await shop.client.subscriptions.ListInvoices(S.ListInvoicesRequest())
    assert (list(listed.data), list(invoices.data)) == ([], [])
    assert (await shop.balance())[1] == {"usd": 0}  # nothing moved: the default currency at 0


async def test_two_workers_at_once_bill_each_period_once(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=2000)
    subscriptions = [await billed.subscribe() for _ in range(3)]
    await shop.client.subscriptions.AdvanceTestClock(
        S.AdvanceTestClockRequest(id=billed.clock, frozen_time=JAN_31_2026 + 200 * 86_400)
    )
    platform = payin.platform
    # One subscription per claim, so the two workers interleave on the same subscriptions.
    job = subscription_billing(platform.billing_clock, batch_size=1)

    async def worker() -> None:
        for _ in range(100):
            for engine in platform.shards.engines:
                await job.run(engine)
                await platform.pay_in.executor.resume_due(engine)

    await asyncio.gather(worker(), worker())

    clock = await shop.client.subscriptions.GetTestClock(S.GetTestClockRequest(id=billed.clock))
    assert clock.status == S.TEST_CLOCK_STATUS_READY
    numbers = []
    for subscription in subscriptions:
        invoices = await billed.invoices(subscription.id)
        numbers += [int(invoice.number.rsplit("-", 1)[1]) for invoice in invoices]
        starts = [invoice.period_start for invoice in invoices]
        assert len(starts) == len(set(starts)) == 7  # Jan 31 .. Jul 31
        assert all(invoice.status == S.INVOICE_STATUS_PAID for invoice in invoices)
    assert sorted(numbers) == list(range(1, 22))
    assert (await shop.balance())[1] == {"usd": 21 * (2000 - fee(2000))}
    await shop.assert_books_balance()


async def test_a_period_total_no_payment_could_collect_is_refused(payin: PayIn, shop: Shop) -> None:
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=99_999_999)

    with pytest.raises(grpc.aio.AioRpcError) as too_large:
        await billed.subscribe(items=[Item(price=billed.price, quantity=2)])
    subscription = await billed.subscribe()
    with pytest.raises(grpc.aio.AioRpcError) as grown:
        await shop.client.subscriptions.UpdateSubscription(
            S.UpdateSubscriptionRequest(
                id=subscription.id,
                items=[S.UpdateSubscriptionRequest.Item(id=subscription.items[0].id, quantity=2)],
            )
        )

    for raised in (too_large, grown):
        error = rich_error(raised.value)
        assert (error.reason, error.metadata["param"]) == ("AMOUNT_TOO_LARGE", "items")
    unchanged = await billed.subscription(subscription.id)
    assert unchanged.items[0].quantity == 1
    assert len(await billed.invoices(subscription.id)) == 1
