"""Issue 23's matrix calls every method with empty requests: it checks who gets past
authorization, not whose objects a caller reaches. Here merchant A owns one object of every
kind a merchant can make (customers and cards, intents, refunds, checkouts and their orders,
sellers, keys, products, prices, test clocks, subscriptions, invoices and their items, bank
accounts, payout cards, payouts, webhook endpoints, checkout sessions, disputes, events,
balance transactions), and merchant B's secret key names each of A's ids in every id-like
field of every method B may call (generated from the protos, so a method or an object added
later is covered the day it is served). Nothing may answer with A's objects, change them, or
answer INTERNAL; an error may name only the id it was given."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest_asyncio
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from grpc import aio
from paycore import contracts
from paycore.config import Settings
from paycore.runtime.policy import Access
from paycore.transcoding import message_class
from paycore.v1 import (
    account_pb2,
    checkout_pb2,
    customer_pb2,
    dispute_pb2,
    event_pb2,
    payment_pb2,
    payout_pb2,
    subscription_pb2,
    wallet_pb2,
)

from tests.dispute.support import disputed_payment
from tests.payout.support import PayoutShop, World, open_world

FREE_TEXT = (
    "email", "url", "description", "name", "currency", "country", "number", "cvc", "phone",
    "line1", "line2", "city", "state", "postal_code", "nickname", "reason", "value", "text",
    "statement_descriptor", "checkout_id", "payment_order_id", "routing_number",
    "account_number", "account_holder_name", "client_secret", "note", "ip", "quote", "base",
)  # fmt: skip
"""String fields that never hold an object's id (what the caller writes or chooses)."""
REFUSED = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


@pytest_asyncio.fixture
async def cross_world(migrated: Settings, tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(
        migrated, tmp_path / "psp", webhook_allow_http=True, webhook_allow_private=True
    ) as opened:
        yield opened


async def _objects_of(world: World, shop: PayoutShop) -> list[str]:
    """One object of every kind, made by `shop`: their ids."""
    client = shop.client
    made: list[str] = []
    seller = await shop.seller()
    key = await client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(name="probe", scopes=["customers:read"])
    )
    customer = await client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(email="a@cross.test")
    )
    card = await shop.card("4242424242424242", customer.id)
    payout_card = await shop.card("4000056655665556")
    await client.payouts.CreatePayoutCard(
        payout_pb2.CreatePayoutCardRequest(payment_method=payout_card)
    )
    intent = await shop.charge(50_000)
    refund = await shop.refund(intent.id, 100)
    checkout = await shop.checkout([(seller, 2_000)])
    disputed = await disputed_payment(world, shop, "4000000000000259", 1_500)
    await world.advance(3)
    bank = await shop.bank_account()
    payout = await shop.payout(1_000, key=secrets.token_hex(4))
    product = await client.subscriptions.CreateProduct(
        subscription_pb2.CreateProductRequest(name="Cross")
    )
    price = await client.subscriptions.CreatePrice(
        subscription_pb2.CreatePriceRequest(
            product=product.id,
            unit_amount=1_000,
            currency="usd",
            recurring=subscription_pb2.Recurring(
                interval=subscription_pb2.RECURRING_INTERVAL_MONTH
            ),
        )
    )
    clock = await client.subscriptions.CreateTestClock(
        subscription_pb2.CreateTestClockRequest(frozen_time=1798761600)
    )
    subscription = await client.subscriptions.CreateSubscription(
        subscription_pb2.CreateSubscriptionRequest(
            customer=customer.id,
            default_payment_method=card,
            items=[subscription_pb2.CreateSubscriptionRequest.Item(price=price.id)],
        )
    )
    item = await client.subscriptions.CreateInvoiceItem(
        subscription_pb2.CreateInvoiceItemRequest(
            customer=customer.id, subscription=subscription.id, amount=100, currency="usd"
        )
    )
    endpoint = await client.events.CreateWebhookEndpoint(
        event_pb2.CreateWebhookEndpointRequest(url="http://127.0.0.1:9/hook", enabled_events=["*"])
    )
    session = await client.checkout.CreateCheckoutSession(
        checkout_pb2.CreateCheckoutSessionRequest(
            amount=1_500,
            currency="usd",
            success_url="https://shop.test/ok",
            cancel_url="https://shop.test/no",
        )
    )
    events = await client.events.ListEvents(event_pb2.ListEventsRequest(limit=1))
    transactions = await client.wallet.ListBalanceTransactions(
        wallet_pb2.ListBalanceTransactionsRequest(limit=1)
    )
    made += [shop.id, seller, key.id, customer.id, card, payout_card, intent.id, refund.id]
    made += [checkout.id, checkout.payment_orders[0].id, disputed.dispute.id, bank.id, payout.id]
    made += [product.id, price.id, clock.id, subscription.id, subscription.items[0].id]
    made += [subscription.latest_invoice, item.id, endpoint.id, session.id]
    made += [events.data[0].id, transactions.data[0].id]
    assert all(made), made
    return made


async def _snapshot(client: Any) -> list[bytes]:
    """Everything A can list, serialized: what B must not change."""
    reads = [
        client.customers.ListCustomers(customer_pb2.ListCustomersRequest(limit=100)),
        client.customers.ListPaymentMethods(customer_pb2.ListPaymentMethodsRequest(limit=100)),
        client.payments.ListPaymentIntents(payment_pb2.ListPaymentIntentsRequest(limit=100)),
        client.payments.ListRefunds(payment_pb2.ListRefundsRequest(limit=100)),
        client.payments.ListPayments(payment_pb2.ListPaymentsRequest(limit=100)),
        client.accounts.ListSellerAccounts(account_pb2.ListSellerAccountsRequest(limit=100)),
        client.accounts.ListApiKeys(account_pb2.ListApiKeysRequest(limit=100)),
        client.subscriptions.ListProducts(subscription_pb2.ListProductsRequest(limit=100)),
        client.subscriptions.ListPrices(subscription_pb2.ListPricesRequest(limit=100)),
        client.subscriptions.ListTestClocks(subscription_pb2.ListTestClocksRequest(limit=100)),
        client.subscriptions.ListSubscriptions(
            subscription_pb2.ListSubscriptionsRequest(limit=100)
        ),
        client.subscriptions.ListInvoices(subscription_pb2.ListInvoicesRequest(limit=100)),
        client.payouts.ListBankAccounts(payout_pb2.ListBankAccountsRequest(limit=100)),
        client.payouts.ListPayouts(payout_pb2.ListPayoutsRequest(limit=100)),
        client.payouts.GetPayoutSchedule(payout_pb2.GetPayoutScheduleRequest()),
        client.events.ListWebhookEndpoints(event_pb2.ListWebhookEndpointsRequest(limit=100)),
        client.events.ListEvents(event_pb2.ListEventsRequest(limit=100)),
        client.disputes.ListDisputes(dispute_pb2.ListDisputesRequest(limit=100)),
        client.checkout.ListCheckoutSessions(checkout_pb2.ListCheckoutSessionsRequest(limit=100)),
        client.wallet.GetBalance(wallet_pb2.GetBalanceRequest()),
    ]
    return [(await read).SerializeToString(deterministic=True) for read in reads]


def _id_paths(
    message: Descriptor, prefix: tuple[FieldDescriptor, ...] = (), depth: int = 0
) -> Iterator[tuple[FieldDescriptor, ...]]:
    """Paths to the string fields that may hold an object's id, through messages 2 deep."""
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.name not in FREE_TEXT and not field.name.endswith(FREE_TEXT):
                yield (*prefix, field)
        elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < 2:
            nested = field.message_type
            if nested is None or nested.GetOptions().map_entry:
                continue
            if nested.full_name.startswith("google."):
                continue
            yield from _id_paths(nested, (*prefix, field), depth + 1)


def _method(method: str) -> Any:
    """The descriptor of the method of full name `method` ("/pkg.Service/Method")."""
    service, name = method.strip("/").split("/")
    short = service.split(".")[-1]
    found = next(file for file in contracts.proto_files() if short in file.services_by_name)
    return found.services_by_name[short].methods_by_name[name]


def _request(message: type[Message], path: tuple[FieldDescriptor, ...], value: str) -> Message:
    request = message()
    target: Any = request
    for field in path[:-1]:
        container = getattr(target, field.name)
        target = container.add() if field.is_repeated else container
    last = path[-1]
    if last.is_repeated:
        getattr(target, last.name).append(value)
    else:
        setattr(target, last.name, value)
    return request


async def test_no_merchant_reaches_another_merchants_objects_by_id(
    cross_world: World,
) -> None:
    owner = await cross_world.shop("Owner")
    intruder = await cross_world.shop("Intruder")
    theirs = await _objects_of(cross_world, owner)
    before = await _snapshot(owner.client)
    credentials = (("authorization", f"Bearer {intruder.merchant.secret_key}"),)
    wrong: list[str] = []
    calls = 0
    async with aio.insecure_channel(cross_world.target) as channel:
        for method, policy in sorted(contracts.method_policies().items()):
            if policy.access in (Access.ADMIN, Access.INTERNAL):
                continue
            descriptor = _method(method)
            call: Any = channel.unary_unary(
                method,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=message_class(descriptor.output_type).FromString,
            )
            for path in _id_paths(descriptor.input_type):
                field = ".".join(part.name for part in path)
                for object_id in theirs:
                    request = _request(message_class(descriptor.input_type), path, object_id)
                    calls += 1
                    try:
                        answer = await call(request, metadata=credentials, timeout=20)
                    except aio.AioRpcError as error:
                        details = error.details() or ""
                        named = [o for o in theirs if o in details and o != object_id]
                        if error.code() not in REFUSED and error.code() != (
                            grpc.StatusCode.FAILED_PRECONDITION
                        ):
                            wrong.append(f"{method} {field}={object_id}: {error.code().name}")
                        elif named:
                            wrong.append(f"{method} {field}={object_id}: names {named}")
                        continue
                    shown = [other for other in theirs if other in str(answer)]
                    if shown:
                        wrong.append(f"{method} {field}={object_id}: answered with {shown}")
    assert calls > 2_000, calls
    assert not wrong, "\n".join(wrong)
    assert await _snapshot(owner.client) == before
