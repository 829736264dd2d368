"""Every catalogued event type is recorded by the change it names: each test here does the
action through the API and finds its event (type, object id) through ListEvents. A type a
webhook endpoint may subscribe to but nothing records would leave it waiting forever."""

from __future__ import annotations

import ast
import secrets
from collections.abc import Callable
from pathlib import Path

from paycore.client import Paycore, idempotency_key
from paycore.events import EVENT_TYPES
from paycore.v1 import (
    customer_pb2,
    event_pb2,
    fraud_pb2,
    payment_pb2,
    subscription_pb2,
)

from tests.customer.support import new_card, new_customer
from tests.fraud.support import REVIEW_EVERYTHING, returning_customer
from tests.helpers import MerchantFixture
from tests.payment.shop import PayIn, Shop, good_card
from tests.subscription.support import JAN_31_2026, billing_job, settle_clock

SERVER = Path(__file__).resolve().parents[2] / "server" / "paycore"
CATALOGUE = SERVER / "events" / "types.py"


Recorded = (
    customer_pb2.Customer
    | customer_pb2.PaymentMethod
    | fraud_pb2.Review
    | payment_pb2.PaymentOrder
    | subscription_pb2.TestClock
)
"""The objects of the events tested here (each has an id)."""


async def recorded(client: Paycore, event_type: str, kind: type[Recorded]) -> list[tuple[str, str]]:
    """(type, data.object's id) of the merchant's events of `event_type`, oldest first."""
    listed = await client.events.ListEvents(event_pb2.ListEventsRequest(type=event_type, limit=100))
    found = []
    for event in reversed(listed.data):
        message = kind()
        assert event.data.object.Unpack(message), event.data.object.type_url
        found.append((event.type, message.id))
    return found


def test_every_catalogued_type_is_written_somewhere_in_the_server() -> None:
    """A cheap guard beside the tests below: a type named only in the catalogue is recorded by
    nothing (each is recorded through a string constant or literal in the server's code).
    Docstrings and comments do not count: only strings the code itself holds."""
    held: set[str] = set()
    for path in SERVER.rglob("*.py"):
        if path.resolve() != CATALOGUE:
            held |= _code_strings(ast.parse(path.read_text()))
    assert sorted(EVENT_TYPES - held) == []


def _code_strings(tree: ast.Module) -> set[str]:
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


async def test_customer_created_and_updated_carry_the_customer(merchant: MerchantFixture) -> None:
    client = merchant.client
    customer = await new_customer(client, email="jane@example.com")
    await client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(id=customer.id, name="Jane Doe")
    )
    # An update that changes nothing is no event (as at Stripe).
    await client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(id=customer.id, name="Jane Doe")
    )

    created = await recorded(client, "customer.created", customer_pb2.Customer)
    updated = await recorded(client, "customer.updated", customer_pb2.Customer)
    assert created == [("customer.created", customer.id)]
    assert updated == [("customer.updated", customer.id)]
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.updated", limit=1)
    )
    after = customer_pb2.Customer()
    assert listed.data[0].data.object.Unpack(after)
    assert (after.email, after.name) == ("jane@example.com", "Jane Doe")


async def test_customer_deleted_carries_the_customer(merchant: MerchantFixture) -> None:
    client = merchant.client
    customer = await new_customer(client, email="leaving@example.com")
    await client.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(id=customer.id))
    deleted = await recorded(client, "customer.deleted", customer_pb2.Customer)
    assert deleted == [("customer.deleted", customer.id)]
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.deleted", limit=1)
    )
    last = customer_pb2.Customer()
    assert listed.data[0].data.object.Unpack(last)
    assert last.email == "leaving@example.com"


async def test_an_idempotent_replay_records_no_second_event(merchant: MerchantFixture) -> None:
    client = merchant.client
    request = customer_pb2.CreateCustomerRequest(email="once@example.com")
    key = idempotency_key(f"customer-{secrets.token_hex(4)}")
    first = await client.customers.CreateCustomer(request, metadata=key)
    replayed = await client.customers.CreateCustomer(request, metadata=key)
    assert replayed.id == first.id
    assert await recorded(client, "customer.created", customer_pb2.Customer) == [
        ("customer.created", first.id)
    ]


async def test_payment_method_attached_and_detached(merchant: MerchantFixture) -> None:
    client = merchant.client
    customer = await new_customer(client)
    card = await new_card(client)
    attach = customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
    await client.customers.AttachPaymentMethod(attach)
    await client.customers.AttachPaymentMethod(attach)  # attached already: nothing changes
    await client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=customer.id,
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=card.id),
        )
    )
    await client.customers.DetachPaymentMethod(customer_pb2.DetachPaymentMethodRequest(id=card.id))

    attached = await recorded(client, "payment_method.attached", customer_pb2.PaymentMethod)
    detached = await recorded(client, "payment_method.detached", customer_pb2.PaymentMethod)
    assert attached == [("payment_method.attached", card.id)]
    assert detached == [("payment_method.detached", card.id)]
    # Detaching the default payment method changed the customer as well: the default was set,
    # then cleared.
    updates = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="customer.updated", limit=10)
    )
    defaults = []
    for event in reversed(updates.data):
        changed = customer_pb2.Customer()
        assert event.data.object.Unpack(changed) and changed.id == customer.id
        defaults.append(changed.invoice_settings.default_payment_method)
    assert defaults == [card.id, ""]


async def test_a_customer_created_with_a_payment_method_records_its_attachment(
    merchant: MerchantFixture,
) -> None:
    client = merchant.client
    card = await new_card(client)
    customer = await new_customer(client, payment_method=card.id)
    assert await recorded(client, "customer.created", customer_pb2.Customer) == [
        ("customer.created", customer.id)
    ]
    assert await recorded(client, "payment_method.attached", customer_pb2.PaymentMethod) == [
        ("payment_method.attached", card.id)
    ]


ORDER = payment_pb2.CreatePaymentRequest.PaymentOrder


async def test_review_opened_and_closed(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    await operator.fraud.UpdateRiskPolicy(REVIEW_EVERYTHING)
    approved = await merchant.client.fraud.ScorePayment(returning_customer(merchant.merchant.id))
    rejected = await merchant.client.fraud.ScorePayment(returning_customer(merchant.merchant.id))
    assert approved.review and rejected.review
    await operator.fraud.ApproveReview(fraud_pb2.ApproveReviewRequest(id=approved.review))
    await operator.fraud.RejectReview(fraud_pb2.RejectReviewRequest(id=rejected.review))

    client = merchant.client
    opened = await recorded(client, "review.opened", fraud_pb2.Review)
    closed = await recorded(client, "review.closed", fraud_pb2.Review)
    assert opened == [("review.opened", approved.review), ("review.opened", rejected.review)]
    assert closed == [("review.closed", approved.review), ("review.closed", rejected.review)]
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="review.closed", limit=1)
    )
    last = fraud_pb2.Review()
    assert listed.data[0].data.object.Unpack(last)
    assert last.status == fraud_pb2.REVIEW_STATUS_REJECTED


async def test_payment_order_created_for_each_order_of_a_payment(shop: Shop) -> None:
    seller = await shop.seller()
    payment = await shop.client.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            checkout_id=f"cart-{secrets.token_hex(4)}",
            payment_method=await shop.card(good_card()),
            buyer_info=payment_pb2.BuyerInfo(email="buyer@example.com", ip="198.51.100.7"),
            payment_orders=[
                ORDER(payment_order_id="o-1", seller_account=seller, amount=2500, currency="usd"),
                ORDER(payment_order_id="o-2", seller_account=seller, amount=1000, currency="usd"),
            ],
        )
    )
    found = await recorded(shop.client, "payment_order.created", payment_pb2.PaymentOrder)
    assert sorted(found) == sorted(
        ("payment_order.created", order.id) for order in payment.payment_orders
    )


async def test_a_test_clock_is_recorded_created_advancing_and_ready(
    payin: PayIn, shop: Shop
) -> None:
    client = shop.client
    clock = await client.subscriptions.CreateTestClock(
        subscription_pb2.CreateTestClockRequest(frozen_time=JAN_31_2026)
    )
    await client.subscriptions.AdvanceTestClock(
        subscription_pb2.AdvanceTestClockRequest(id=clock.id, frozen_time=JAN_31_2026 + 86_400)
    )
    ready = await settle_clock(payin, billing_job(payin), client, clock.id)
    assert ready.status == subscription_pb2.TEST_CLOCK_STATUS_READY
    found = await recorded(client, "test_helpers.test_clock.ready", subscription_pb2.TestClock)
    assert found == [("test_helpers.test_clock.ready", clock.id)]
    # Stripe's other two steps of a clock: made (ready at its time), then advancing to the new.
    for step, status, frozen_time in (
        ("created", subscription_pb2.TEST_CLOCK_STATUS_READY, JAN_31_2026),
        ("advancing", subscription_pb2.TEST_CLOCK_STATUS_ADVANCING, JAN_31_2026 + 86_400),
    ):
        event_type = f"test_helpers.test_clock.{step}"
        assert await recorded(client, event_type, subscription_pb2.TestClock) == [
            (event_type, clock.id)
        ]
        (event,) = (
            await client.events.ListEvents(event_pb2.ListEventsRequest(type=event_type))
        ).data
        then = subscription_pb2.TestClock()
        assert event.data.object.Unpack(then)
        assert (then.status, then.frozen_time) == (status, frozen_time)
    listed = await client.events.ListEvents(
        event_pb2.ListEventsRequest(type="test_helpers.test_clock.ready", limit=1)
    )
    after = subscription_pb2.TestClock()
    assert listed.data[0].data.object.Unpack(after)
    assert (after.status, after.frozen_time) == (
        subscription_pb2.TEST_CLOCK_STATUS_READY,
        JAN_31_2026 + 86_400,
    )


async def test_a_deleted_test_clock_is_recorded(shop: Shop) -> None:
    client = shop.client
    clock = await client.subscriptions.CreateTestClock(
        subscription_pb2.CreateTestClockRequest(frozen_time=JAN_31_2026)
    )
    await client.subscriptions.DeleteTestClock(subscription_pb2.DeleteTestClockRequest(id=clock.id))
    found = await recorded(client, "test_helpers.test_clock.deleted", subscription_pb2.TestClock)
    assert found == [("test_helpers.test_clock.deleted", clock.id)]
