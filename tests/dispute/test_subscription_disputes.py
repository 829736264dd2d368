"""A subscription's invoice paid with a card whose charge is then disputed (issue 22 with issue
7): the chargeback gave the buyer the charge back through the bank, so a prorated cancel does
not refund it a second time (refunds of a disputed charge are refused, CreateRefund's or the
cancel's own)."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import customer_pb2, payment_pb2, subscription_pb2

from tests.dispute.support import pending, read_feed
from tests.payout.support import PayoutShop, World
from tests.subscription.support import new_price, new_product

PRICE = 3000
START = 1_830_297_600  # 2028-01-01 UTC


async def _subscribed(shop: PayoutShop, card_number: str) -> subscription_pb2.Subscription:
    """A monthly subscription of PRICE on a test clock that stays at its start (so a prorated
    cancel gives back the whole period), its first invoice charged to `card_number`."""
    clock = await shop.client.subscriptions.CreateTestClock(
        subscription_pb2.CreateTestClockRequest(frozen_time=START)
    )
    customer = await shop.client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="buyer@shop.test")
    )
    card = await shop.card(card_number, customer=customer.id)
    product = await new_product(shop.client)
    price = await new_price(
        shop.client,
        product.id,
        PRICE,
        recurring=subscription_pb2.Recurring(interval=subscription_pb2.RECURRING_INTERVAL_MONTH),
    )
    created: subscription_pb2.Subscription = await shop.client.subscriptions.CreateSubscription(
        subscription_pb2.CreateSubscriptionRequest(
            customer=customer.id,
            items=[subscription_pb2.CreateSubscriptionRequest.Item(price=price.id)],
            default_payment_method=card,
            test_clock=clock.id,
        )
    )
    assert created.status == subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE, created
    return created


async def _intent(shop: PayoutShop, subscription: str) -> payment_pb2.PaymentIntent:
    found = await shop.client.subscriptions.GetSubscription(
        subscription_pb2.GetSubscriptionRequest(id=subscription)
    )
    invoice = await shop.client.subscriptions.GetInvoice(
        subscription_pb2.GetInvoiceRequest(id=found.latest_invoice)
    )
    intent: payment_pb2.PaymentIntent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    return intent


async def test_a_prorated_cancel_does_not_refund_a_disputed_invoice_charge(world: World) -> None:
    shop = await world.shop()
    subscription = await _subscribed(shop, cards.CARD_DISPUTE_FRAUDULENT)
    world.clock.advance(61)
    await read_feed(world)
    intent = await _intent(shop, subscription.id)
    assert intent.disputed
    balance = await pending(shop)

    canceled = await shop.client.subscriptions.CancelSubscription(
        subscription_pb2.CancelSubscriptionRequest(id=subscription.id, prorate=True)
    )

    assert canceled.status == subscription_pb2.SUBSCRIPTION_STATUS_CANCELED
    refunds = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert list(refunds.data) == []  # the buyer has the charge back from the chargeback
    assert (await _intent(shop, subscription.id)).amount_refunded == 0
    assert await pending(shop) == balance
    await shop.assert_books_balance()
    await shop.close()


async def test_a_prorated_cancel_still_refunds_an_undisputed_invoice_charge(
    world: World,
) -> None:
    """The same cancel of a charge nobody disputed gives the unused time (all of it) back."""
    shop = await world.shop()
    subscription = await _subscribed(shop, cards.CARD_SUCCEEDS)
    await shop.client.subscriptions.CancelSubscription(
        subscription_pb2.CancelSubscriptionRequest(id=subscription.id, prorate=True)
    )
    intent = await _intent(shop, subscription.id)
    assert intent.amount_refunded == PRICE
    await shop.assert_books_balance()
    await shop.close()
