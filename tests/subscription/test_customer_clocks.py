"""A customer on a test clock, as Stripe's test clocks are used (issue 7): CreateCustomer's
`test_clock`, then a subscription of that customer, created without naming a clock, runs on it;
advancing the clock bills it. A clock that is not the merchant's, or a subscription naming
another clock than its customer's, is refused and creates nothing."""

from __future__ import annotations

import grpc
from paycore.v1 import customer_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, good_card
from tests.subscription.billing import add_months, net, open_billing, utc

S = subscription_pb2
START = utc(2028, 4, 30, 12)


async def test_a_customers_subscription_runs_on_the_customers_clock(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="clocked@shop.test", test_clock=billing.clock_id)
    )
    assert customer.test_clock == billing.clock_id
    fetched = await shop.client.customers.GetCustomer(
        customer_pb2.GetCustomerRequest(id=customer.id)
    )
    assert fetched.test_clock == billing.clock_id
    card = await shop.card(good_card(), customer=customer.id)
    price = await billing.price(1800)

    created = await billing.api.CreateSubscription(
        S.CreateSubscriptionRequest(
            customer=customer.id,
            items=[S.CreateSubscriptionRequest.Item(price=price)],
            default_payment_method=card,
        )
    )

    assert created.test_clock == billing.clock_id
    assert created.current_period_start == START  # the clock's time, not the wall clock's
    await billing.advance(add_months(START, 1))
    invoices = await billing.invoices(created.id)
    assert [invoice.period_start for invoice in invoices] == [START, add_months(START, 1)]
    assert [invoice.status for invoice in invoices] == [S.INVOICE_STATUS_PAID] * 2
    await billing.assert_books(net([1800, 1800]))


async def test_a_clock_not_the_customers_is_refused_and_creates_nothing(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    billing = await open_billing(payin, shop, psp, START)
    unknown = await failure(
        shop.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(
                email="nobody@shop.test", test_clock="clock_0000000000000000000000"
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert unknown.param == "test_clock"
    listed = await shop.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="nobody@shop.test")
    )
    assert list(listed.data) == []

    other = await shop.client.subscriptions.CreateTestClock(
        S.CreateTestClockRequest(frozen_time=START)
    )
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="clocked@shop.test", test_clock=billing.clock_id)
    )
    card = await shop.card(good_card(), customer=customer.id)
    price = await billing.price(1800)
    mismatch = await failure(
        billing.api.CreateSubscription(
            S.CreateSubscriptionRequest(
                customer=customer.id,
                items=[S.CreateSubscriptionRequest.Item(price=price)],
                default_payment_method=card,
                test_clock=other.id,
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert mismatch.param == "test_clock"
    assert await billing.invoices() == []
    # Its own clock, named, is the same as naming none.
    same = await billing.api.CreateSubscription(
        S.CreateSubscriptionRequest(
            customer=customer.id,
            items=[S.CreateSubscriptionRequest.Item(price=price)],
            default_payment_method=card,
            test_clock=billing.clock_id,
        )
    )
    assert same.test_clock == billing.clock_id
