"""Customers over gRPC: a real server, real PostgreSQL (two shards) and Redis."""

from __future__ import annotations

import re

import grpc
from paycore.client import idempotency_key
from paycore.ids import Prefix, logical_shard_of
from paycore.v1 import customer_pb2

from tests.customer.support import failure, new_card, new_customer
from tests.helpers import MerchantFixture


async def test_a_customer_is_created_on_the_merchants_shard_and_reads_back(
    merchant: MerchantFixture,
) -> None:
    created = await new_customer(
        merchant.client,
        email=" jenny@example.com ",
        name="Jenny Rosen",
        description="VIP",
        phone="+15555550123",
        address=customer_pb2.Address(line1="1 Main St", city="Springfield", country="us"),
        metadata={"crm": "42"},
    )
    assert re.match(r"^cus_[0-9A-Za-z]{22}$", created.id)
    assert logical_shard_of(created.id, Prefix.CUSTOMER) == logical_shard_of(
        merchant.merchant.id, Prefix.ACCOUNT
    )
    assert created.email == "jenny@example.com"
    assert created.address.country == "US" and created.address.city == "Springfield"
    assert created.created > 0 and created.metadata["crm"] == "42"
    assert created.invoice_settings.default_payment_method == ""
    fetched = await merchant.client.customers.GetCustomer(
        customer_pb2.GetCustomerRequest(id=created.id)
    )
    assert fetched == created


async def test_bad_customer_fields_are_refused_naming_them(merchant: MerchantFixture) -> None:
    cases = [
        (customer_pb2.CreateCustomerRequest(email="not-an-email"), "email"),
        (customer_pb2.CreateCustomerRequest(name="n" * 257), "name"),
        (customer_pb2.CreateCustomerRequest(description="d" * 1001), "description"),
        (customer_pb2.CreateCustomerRequest(phone="1" * 21), "phone"),
        (
            customer_pb2.CreateCustomerRequest(address=customer_pb2.Address(country="XX")),
            "address.country",
        ),
        (customer_pb2.CreateCustomerRequest(metadata={"k": "v" * 501}), "metadata[k]"),
    ]
    for request, param in cases:
        error = await failure(
            merchant.client.customers.CreateCustomer(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert error.param == param, (param, error)
    listed = await merchant.client.customers.ListCustomers(customer_pb2.ListCustomersRequest())
    assert list(listed.data) == []


async def test_update_changes_only_the_fields_present(merchant: MerchantFixture) -> None:
    created = await new_customer(
        merchant.client,
        email="a@example.com",
        name="A",
        phone="1",
        address=customer_pb2.Address(city="Paris", country="FR"),
        metadata={"keep": "1", "drop": "2"},
    )
    updated = await merchant.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=created.id, name="Anne", phone="", metadata={"drop": "", "new": "3"}
        )
    )
    assert (updated.email, updated.name, updated.phone) == ("a@example.com", "Anne", "")
    assert updated.address.city == "Paris"
    assert dict(updated.metadata) == {"keep": "1", "new": "3"}
    moved = await merchant.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=created.id, address=customer_pb2.Address(city="Lyon", country="fr")
        )
    )
    assert (moved.address.city, moved.address.country, moved.name) == ("Lyon", "FR", "Anne")
    assert dict(moved.metadata) == {"keep": "1", "new": "3"}
    replaced = await merchant.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=created.id, clear_metadata=True, metadata={"only": "4", "none": ""}
        )
    )
    assert dict(replaced.metadata) == {"only": "4"}
    error = await failure(
        merchant.client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(id=created.id, email="broken")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "email"
    missing = await failure(
        merchant.client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(id="cus_" + "0" * 22, name="x")
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (missing.reason, missing.param) == ("RESOURCE_MISSING", "id")


async def test_the_default_payment_method_must_be_attached_to_that_customer(
    merchant: MerchantFixture,
) -> None:
    customer = await new_customer(merchant.client, name="Payer")
    other = await new_customer(merchant.client, name="Someone else")
    card = await new_card(merchant.client)

    async def set_default(customer_id: str, payment_method_id: str) -> customer_pb2.Customer:
        updated: customer_pb2.Customer = await merchant.client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(
                id=customer_id,
                invoice_settings=customer_pb2.InvoiceSettings(
                    default_payment_method=payment_method_id
                ),
            )
        )
        return updated

    error = await failure(set_default(customer.id, card.id), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.reason == "PAYMENT_METHOD_NOT_ATTACHED"
    assert error.param == "invoice_settings.default_payment_method"
    unknown = await failure(
        set_default(customer.id, "pm_" + "0" * 22), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert unknown.param == "invoice_settings.default_payment_method"
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
    )
    await failure(set_default(other.id, card.id), grpc.StatusCode.FAILED_PRECONDITION)
    updated = await set_default(customer.id, card.id)
    assert updated.invoice_settings.default_payment_method == card.id
    cleared = await set_default(customer.id, "")
    assert cleared.invoice_settings.default_payment_method == ""


async def test_customers_list_newest_first_in_pages_and_by_email(
    merchant: MerchantFixture,
) -> None:
    made = [
        await new_customer(merchant.client, email=f"c{index % 2}@example.com", name=str(index))
        for index in range(5)
    ]
    newest_first = [customer.id for customer in reversed(made)]
    first = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(limit=2)
    )
    assert [customer.id for customer in first.data] == newest_first[:2] and first.has_more
    rest = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(limit=10, starting_after=first.data[-1].id)
    )
    assert [customer.id for customer in rest.data] == newest_first[2:] and not rest.has_more
    by_email = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="c0@example.com")
    )
    assert [customer.name for customer in by_email.data] == ["4", "2", "0"]
    for request, param in [
        (customer_pb2.ListCustomersRequest(limit=101), "limit"),
        (customer_pb2.ListCustomersRequest(starting_after="pm_x"), "starting_after"),
        (customer_pb2.ListCustomersRequest(email="nope"), "email"),
    ]:
        error = await failure(
            merchant.client.customers.ListCustomers(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert error.param == param


async def test_another_merchants_customer_is_not_found(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    theirs = await new_customer(other_merchant.client, email="theirs@example.com")
    for call in (
        merchant.client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=theirs.id)),
        merchant.client.customers.UpdateCustomer(
            customer_pb2.UpdateCustomerRequest(id=theirs.id, name="hijacked")
        ),
    ):
        error = await failure(call, grpc.StatusCode.NOT_FOUND)
        assert error.reason == "RESOURCE_MISSING"
    listed = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="theirs@example.com")
    )
    assert list(listed.data) == []
    still = await other_merchant.client.customers.GetCustomer(
        customer_pb2.GetCustomerRequest(id=theirs.id)
    )
    assert still.name == ""


async def test_customer_mutations_are_idempotent(merchant: MerchantFixture) -> None:
    request = customer_pb2.CreateCustomerRequest(email="once@example.com")
    first = await merchant.client.customers.CreateCustomer(
        request, metadata=idempotency_key("customer-once")
    )
    again = await merchant.client.customers.CreateCustomer(
        request, metadata=idempotency_key("customer-once")
    )
    assert again == first
    error = await failure(
        merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(email="twice@example.com"),
            metadata=idempotency_key("customer-once"),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.reason == "IDEMPOTENCY_KEY_REUSED"
    update = customer_pb2.UpdateCustomerRequest(id=first.id, name="Once")
    updated = await merchant.client.customers.UpdateCustomer(
        update, metadata=idempotency_key("update-once")
    )
    assert (
        await merchant.client.customers.UpdateCustomer(
            update, metadata=idempotency_key("update-once")
        )
        == updated
    )
    listed = await merchant.client.customers.ListCustomers(
        customer_pb2.ListCustomersRequest(email="once@example.com")
    )
    assert [customer.id for customer in listed.data] == [first.id]
