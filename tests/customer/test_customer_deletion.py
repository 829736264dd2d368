"""DeleteCustomer over gRPC (Stripe's `Customer.delete`): the answer is a deleted stub, the
customer's subscriptions end at once, its payment methods are detached, `customer.deleted` is
recorded, and from then on nothing finds the customer (NOT_FOUND naming it)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import grpc
from paycore.client import Paycore, idempotency_key
from paycore.v1 import customer_pb2, event_pb2, payment_pb2, subscription_pb2
from sqlalchemy import text

from tests.customer.support import failure, new_card, new_customer
from tests.helpers import MerchantFixture
from tests.payment.shop import PayIn, Shop, good_card
from tests.payment.test_intent_updates import _someone_waits_on_a_lock
from tests.subscription.support import Billed


async def delete(
    client: Paycore, customer_id: str, key: str = ""
) -> customer_pb2.DeleteCustomerResponse:
    metadata = idempotency_key(key) if key else None
    deleted: customer_pb2.DeleteCustomerResponse = await client.customers.DeleteCustomer(
        customer_pb2.DeleteCustomerRequest(id=customer_id), metadata=metadata
    )
    return deleted


Sub = subscription_pb2.Subscription
Recorded = customer_pb2.Customer | customer_pb2.PaymentMethod | subscription_pb2.Subscription


async def event_types_about(client: Paycore, kind: type[Recorded], object_id: str) -> list[str]:
    """The types of the merchant's events whose object is the `kind` of id `object_id`, oldest
    first."""
    listed = await client.events.ListEvents(event_pb2.ListEventsRequest(limit=100))
    found = []
    for event in reversed(listed.data):
        message = kind()
        if event.data.object.Unpack(message) and message.id == object_id:
            found.append(event.type)
    return found


async def test_a_deleted_customer_is_a_stub_then_found_nowhere(merchant: MerchantFixture) -> None:
    client = merchant.client
    kept = await new_customer(client, email="kept@example.com")
    gone = await new_customer(client, email="gone@example.com")

    deleted = await delete(client, gone.id)
    assert deleted == customer_pb2.DeleteCustomerResponse(id=gone.id, deleted=True)

    read = await failure(
        client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=gone.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert read.param == "id" and gone.id in read.message
    update = await failure(
        client.customers.UpdateCustomer(customer_pb2.UpdateCustomerRequest(id=gone.id, name="x")),
        grpc.StatusCode.NOT_FOUND,
    )
    assert update.param == "id"
    again = await failure(
        client.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(id=gone.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert again.param == "id"
    listed = await client.customers.ListCustomers(customer_pb2.ListCustomersRequest(limit=100))
    assert [customer.id for customer in listed.data] == [kept.id]
    by_email = await client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="gone@example.com")
    )
    assert list(by_email.data) == []
    card = await new_card(client)
    attach = await failure(
        client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=gone.id)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert attach.param == "customer"
    assert await event_types_about(client, customer_pb2.Customer, gone.id) == [
        "customer.created",
        "customer.deleted",
    ]


async def test_a_replay_with_the_key_answers_the_same(merchant: MerchantFixture) -> None:
    client = merchant.client
    customer = await new_customer(client)
    key = f"delete-{secrets.token_hex(4)}"
    first = await delete(client, customer.id, key)
    replayed = await delete(client, customer.id, key)
    assert replayed == first == customer_pb2.DeleteCustomerResponse(id=customer.id, deleted=True)
    assert (await event_types_about(client, customer_pb2.Customer, customer.id)).count(
        "customer.deleted"
    ) == 1


async def test_its_payment_methods_are_detached(merchant: MerchantFixture) -> None:
    client = merchant.client
    first, second, other = [await new_card(client) for _ in range(3)]
    customer = await new_customer(
        client,
        payment_method=first.id,
        invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=first.id),
    )
    await client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=second.id, customer=customer.id)
    )
    bystander = await new_customer(client, payment_method=other.id)

    await delete(client, customer.id)

    for method in (first, second):
        read = await client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=method.id)
        )
        assert read.customer == ""
        assert await event_types_about(client, customer_pb2.PaymentMethod, method.id) == [
            "payment_method.attached",
            "payment_method.detached",
        ]
    still = await client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=other.id)
    )
    assert still.customer == bystander.id


async def test_a_payment_intent_or_subscription_naming_it_is_refused(shop: Shop) -> None:
    client = shop.client
    customer = await new_customer(client)
    await delete(client, customer.id)
    refused = await failure(
        client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=1000,
                currency="usd",
                customer=customer.id,
                payment_method=await shop.card(good_card()),
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused.param == "customer" and customer.id in refused.message


async def test_its_subscriptions_are_canceled_at_once_without_a_refund(
    payin: PayIn, shop: Shop
) -> None:
    billed = await Billed(payin, shop).setup(good_card())
    active = await billed.subscribe()
    await billed.drain()
    assert (await billed.subscription(active.id)).status == (
        subscription_pb2.SUBSCRIPTION_STATUS_ACTIVE
    )
    ended = await billed.subscribe()
    await billed.client.subscriptions.CancelSubscription(
        subscription_pb2.CancelSubscriptionRequest(id=ended.id)
    )
    paid = await billed.invoices(active.id)

    await delete(billed.client, billed.customer)

    canceled = await billed.subscription(active.id)
    assert canceled.status == subscription_pb2.SUBSCRIPTION_STATUS_CANCELED
    assert canceled.ended_at > 0 and not canceled.cancel_at_period_end
    about_active = await event_types_about(billed.client, Sub, active.id)
    assert about_active[-1] == "customer.subscription.deleted"
    assert about_active.count("customer.subscription.deleted") == 1
    # Canceled before: left as it was (one deletion event, from its own cancel).
    about_ended = await event_types_about(billed.client, Sub, ended.id)
    assert about_ended.count("customer.subscription.deleted") == 1
    canceled_before = await billed.subscription(ended.id)
    assert canceled_before.status == subscription_pb2.SUBSCRIPTION_STATUS_CANCELED
    # No prorated refund: the paid invoice keeps what it was paid.
    assert [invoice.amount_paid for invoice in await billed.invoices(active.id)] == [
        invoice.amount_paid for invoice in paid
    ]
    refused = await failure(billed.subscribe(), grpc.StatusCode.INVALID_ARGUMENT)
    assert refused.param == "customer"


async def test_a_subscription_racing_the_deletion_is_refused(payin: PayIn, shop: Shop) -> None:
    """CreateSubscription waits for a deletion of its customer in progress, then finds the
    customer gone: no live subscription is left billing a deleted customer."""
    billed = await Billed(payin, shop).setup(good_card())
    async with payin.platform.shards.transaction(shop.id) as connection:
        await payin.platform.customers.delete_customer(connection, shop.id, billed.customer)
        creating = asyncio.ensure_future(billed.subscribe())
        await _someone_waits_on_a_lock(payin, shop)
    refused = await failure(creating, grpc.StatusCode.INVALID_ARGUMENT)
    assert refused.param == "customer"
    listed = await billed.client.subscriptions.ListSubscriptions(
        subscription_pb2.ListSubscriptionsRequest(
            status=subscription_pb2.SUBSCRIPTION_STATUS_FILTER_ACTIVE
        )
    )
    assert list(listed.data) == []


async def _done_or_waiting(payin: PayIn, shop: Shop, call: asyncio.Future[Any]) -> None:
    """Until `call` has answered or waits on a row lock (polled; no timing is asserted)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(500):
        if call.done():
            return
        async with payin.platform.shards.read(shop.id) as connection:
            if (await connection.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the call neither answered nor waited on a lock")


async def test_an_attach_racing_the_deletion_leaves_no_card_on_a_deleted_customer(
    payin: PayIn, shop: Shop
) -> None:
    """AttachPaymentMethod takes the customer's row lock as DeleteCustomer does (the customer
    first, then the card): an attach arriving while a deletion is uncommitted waits for it,
    then finds the customer gone (NOT_FOUND naming `customer`); the card stays unattached."""
    customer = await new_customer(shop.client, email="racing@example.com")
    card = await new_card(shop.client)
    async with payin.platform.shards.transaction(shop.id) as connection:
        await payin.platform.customers.delete_customer(connection, shop.id, customer.id)
        attaching = asyncio.ensure_future(
            shop.client.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
            )
        )
        await _done_or_waiting(payin, shop, attaching)
    # A missing object a request field names: RESOURCE_MISSING, INVALID_ARGUMENT (docs/api.md).
    refused = await failure(attaching, grpc.StatusCode.INVALID_ARGUMENT)
    assert (refused.reason, refused.param) == ("RESOURCE_MISSING", "customer")
    read = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=card.id)
    )
    assert read.customer == ""


async def test_concurrent_attaches_and_deletions_end_consistently(
    merchant: MerchantFixture,
) -> None:
    """Many attaches and deletions of the same customers at once: each customer is either
    deleted with no card attached, or (never here, the deletion always commits) alive; a card
    is never left on a deleted customer, and every attach answers OK or RESOURCE_MISSING
    (INVALID_ARGUMENT: the customer a field names is gone)."""
    client = merchant.client
    customers = [await new_customer(client) for _ in range(8)]
    cards = [await new_card(client) for _ in customers]

    async def attach(card_id: str, customer_id: str) -> grpc.StatusCode:
        try:
            await client.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id=card_id, customer=customer_id)
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    calls = [attach(card.id, customer.id) for card, customer in zip(cards, customers, strict=True)]
    deletions = [delete(client, customer.id) for customer in customers]
    answers = await asyncio.gather(*calls, *deletions)
    assert set(answers[: len(calls)]) <= {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}
    for card in cards:
        read = await client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=card.id)
        )
        assert read.customer == "", read
