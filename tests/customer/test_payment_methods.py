"""Payment methods over gRPC: tokenization (also with the publishable key), attach/detach,
isolation between merchants, idempotency."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc
from paycore.client import connect, idempotency_key
from paycore.v1 import account_pb2, customer_pb2

from tests.customer.support import (
    AMEX,
    EXP_YEAR,
    MASTERCARD,
    VISA,
    card_request,
    failure,
    new_card,
    new_customer,
)
from tests.helpers import MerchantFixture

# Proto3 enums are open: a number the contract does not define arrives intact.
UNKNOWN_TYPE = customer_pb2.PaymentMethodType.ValueType(7)


async def test_a_card_is_tokenized_without_its_number(merchant: MerchantFixture) -> None:
    created = await merchant.client.customers.CreatePaymentMethod(
        card_request(
            "4242 4242 4242 4242",
            billing_details=customer_pb2.BillingDetails(
                name="Jenny Rosen",
                email="jenny@example.com",
                address=customer_pb2.Address(postal_code="94103", country="US"),
            ),
            metadata={"order": "7"},
        )
    )
    assert re.match(r"^pm_[0-9A-Za-z]{22}$", created.id)
    assert created.type == customer_pb2.PAYMENT_METHOD_TYPE_CARD
    card = created.card
    assert card.brand == customer_pb2.CARD_BRAND_VISA
    assert (card.last4, card.exp_month, card.exp_year) == ("4242", 12, EXP_YEAR)
    assert (card.country, card.funding) == ("US", customer_pb2.CARD_FUNDING_CREDIT)
    assert re.match(r"^[0-9A-Za-z]{16}$", card.fingerprint)
    assert created.customer == "" and created.metadata["order"] == "7"
    assert created.billing_details.address.postal_code == "94103"
    assert VISA not in str(created) and VISA.encode() not in created.SerializeToString()
    fetched = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=created.id)
    )
    assert fetched == created


async def test_the_same_number_has_the_same_fingerprint_for_every_merchant(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    mine = await new_card(merchant.client, VISA)
    again = await new_card(merchant.client, VISA)
    theirs = await new_card(other_merchant.client, VISA)
    other_number = await new_card(merchant.client, MASTERCARD)
    assert mine.id != again.id
    assert mine.card.fingerprint == again.card.fingerprint == theirs.card.fingerprint
    assert other_number.card.fingerprint != mine.card.fingerprint
    assert other_number.card.brand == customer_pb2.CARD_BRAND_MASTERCARD


async def test_bad_cards_are_refused_naming_the_field(merchant: MerchantFixture) -> None:
    cases = [
        (card_request("4242424242424241"), "card.number", "INVALID_NUMBER"),
        (card_request("4242abcd42424242"), "card.number", "INVALID_NUMBER"),
        (card_request(""), "card.number", "PARAMETER_MISSING"),
        (card_request(exp_month=13), "card.exp_month", "INVALID_EXPIRY_MONTH"),
        (card_request(exp_year=2020), "card.exp_year", "EXPIRED_CARD"),
        (card_request(exp_year=20), "card.exp_year", "INVALID_EXPIRY_YEAR"),
        (card_request(cvc="12"), "card.cvc", "INVALID_CVC"),
        (card_request(AMEX, cvc="123"), "card.cvc", "INVALID_CVC"),
        (customer_pb2.CreatePaymentMethodRequest(), "type", "PARAMETER_MISSING"),
        (
            customer_pb2.CreatePaymentMethodRequest(type=UNKNOWN_TYPE),
            "type",
            "PARAMETER_UNKNOWN_ENUM",
        ),
        (
            customer_pb2.CreatePaymentMethodRequest(type=customer_pb2.PAYMENT_METHOD_TYPE_CARD),
            "card",
            "PARAMETER_MISSING",
        ),
        (
            card_request(billing_details=customer_pb2.BillingDetails(email="x")),
            "billing_details.email",
            "PARAMETER_INVALID",
        ),
    ]
    for request, param, reason in cases:
        error = await failure(
            merchant.client.customers.CreatePaymentMethod(request),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert (error.param, error.reason) == (param, reason), error
        if request.card.number:
            assert request.card.number not in error.message
    listed = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest()
    )
    assert list(listed.data) == []


async def test_the_publishable_key_may_tokenize_and_nothing_else(
    merchant: MerchantFixture, target: str
) -> None:
    async with connect(target, merchant.merchant.publishable_key) as browser:
        created = await new_card(browser, MASTERCARD)
        assert created.card.last4 == "4444"
        for call in (
            browser.customers.GetPaymentMethod(customer_pb2.GetPaymentMethodRequest(id=created.id)),
            browser.customers.ListPaymentMethods(customer_pb2.ListPaymentMethodsRequest()),
            browser.customers.CreateCustomer(customer_pb2.CreateCustomerRequest()),
            browser.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id=created.id, customer="cus_x")
            ),
        ):
            error = await failure(call, grpc.StatusCode.PERMISSION_DENIED)
            assert error.param == "authorization"
    fetched = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=created.id)
    )
    # The publishable key sees a per-merchant fingerprint, never the platform-wide one the
    # secret key sees (issue 23, item 5); everything else is the same object.
    assert fetched.card.fingerprint != created.card.fingerprint
    fetched.card.fingerprint = created.card.fingerprint
    assert fetched == created


async def test_restricted_keys_need_the_payment_methods_scope(
    merchant: MerchantFixture, target: str
) -> None:
    reader = await merchant.client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(name="reader", scopes=["payment_methods:read"])
    )
    writer = await merchant.client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(name="writer", scopes=["payment_methods:write"])
    )
    async with connect(target, reader.secret) as client:
        await failure(
            client.customers.CreatePaymentMethod(card_request()), grpc.StatusCode.PERMISSION_DENIED
        )
    async with connect(target, writer.secret) as client:
        created = await new_card(client)
        listed = await client.customers.ListPaymentMethods(customer_pb2.ListPaymentMethodsRequest())
        assert [method.id for method in listed.data] == [created.id]


async def test_attach_and_detach(merchant: MerchantFixture) -> None:
    customer = await new_customer(merchant.client, email="payer@example.com")
    other = await new_customer(merchant.client, email="other@example.com")
    card = await new_card(merchant.client)
    attach = customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
    attached = await merchant.client.customers.AttachPaymentMethod(attach)
    assert attached.customer == customer.id
    assert await merchant.client.customers.AttachPaymentMethod(attach) == attached
    elsewhere = await failure(
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=other.id)
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert (elsewhere.reason, elsewhere.param) == ("PAYMENT_METHOD_ALREADY_ATTACHED", "id")
    await merchant.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=customer.id,
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=card.id),
        )
    )
    detached = await merchant.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=card.id)
    )
    assert detached.customer == "" and detached.card.last4 == "4242"
    after = await merchant.client.customers.GetCustomer(
        customer_pb2.GetCustomerRequest(id=customer.id)
    )
    assert after.invoice_settings.default_payment_method == ""
    for call, reason in (
        (
            merchant.client.customers.DetachPaymentMethod(
                customer_pb2.DetachPaymentMethodRequest(id=card.id)
            ),
            "PAYMENT_METHOD_NOT_ATTACHED",
        ),
        (merchant.client.customers.AttachPaymentMethod(attach), "PAYMENT_METHOD_DETACHED"),
    ):
        error = await failure(call, grpc.StatusCode.FAILED_PRECONDITION)
        assert error.reason == reason


async def test_detaching_another_card_keeps_the_default(merchant: MerchantFixture) -> None:
    customer = await new_customer(merchant.client)
    default, spare = await new_card(merchant.client), await new_card(merchant.client, AMEX)
    for card in (default, spare):
        await merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
        )
    await merchant.client.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(
            id=customer.id,
            invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=default.id),
        )
    )
    await merchant.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=spare.id)
    )
    after = await merchant.client.customers.GetCustomer(
        customer_pb2.GetCustomerRequest(id=customer.id)
    )
    assert after.invoice_settings.default_payment_method == default.id


async def test_attach_needs_a_known_customer_and_card(merchant: MerchantFixture) -> None:
    customer = await new_customer(merchant.client)
    card = await new_card(merchant.client)
    unknown_customer = await failure(
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer="cus_" + "0" * 22)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert unknown_customer.param == "customer"
    unknown_card = await failure(
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id="pm_" + "0" * 22, customer=customer.id)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert unknown_card.param == "id"
    malformed = await failure(
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=card.id)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert (malformed.reason, malformed.param) == ("ID_MALFORMED", "customer")


async def test_a_customer_is_created_with_its_payment_method_and_default(
    merchant: MerchantFixture,
) -> None:
    card, spare = await new_card(merchant.client), await new_card(merchant.client, AMEX)
    created = await new_customer(
        merchant.client,
        email="jenny.rosen@example.com",
        payment_method=card.id,
        invoice_settings=customer_pb2.InvoiceSettings(default_payment_method=card.id),
    )
    assert created.invoice_settings.default_payment_method == card.id
    assert (
        await merchant.client.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=created.id))
        == created
    )
    attached_only = await new_customer(merchant.client, payment_method=spare.id)
    assert attached_only.invoice_settings.default_payment_method == ""
    for customer, method in ((created, card), (attached_only, spare)):
        listed = await merchant.client.customers.ListPaymentMethods(
            customer_pb2.ListPaymentMethodsRequest(customer=customer.id)
        )
        assert [(found.id, found.customer) for found in listed.data] == [(method.id, customer.id)]


async def test_a_customer_with_a_payment_method_it_cannot_have_is_not_created(
    merchant: MerchantFixture,
) -> None:
    taken = await new_card(merchant.client)
    await new_customer(merchant.client, payment_method=taken.id)
    free = await new_card(merchant.client, AMEX)
    cases: list[tuple[dict[str, Any], grpc.StatusCode, str, str]] = [
        (
            {"payment_method": taken.id},
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENT_METHOD_ALREADY_ATTACHED",
            "payment_method",
        ),
        (
            {"payment_method": "pm_" + "0" * 22},
            grpc.StatusCode.INVALID_ARGUMENT,
            "RESOURCE_MISSING",
            "payment_method",
        ),
        (
            {"payment_method": "cus_x"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "ID_MALFORMED",
            "payment_method",
        ),
        (
            {"payment_method": free.id, "invoice_settings": {"default_payment_method": taken.id}},
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENT_METHOD_NOT_ATTACHED",
            "invoice_settings.default_payment_method",
        ),
        (
            {"invoice_settings": {"default_payment_method": free.id}},
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENT_METHOD_NOT_ATTACHED",
            "invoice_settings.default_payment_method",
        ),
    ]
    for fields, code, reason, param in cases:
        request = customer_pb2.CreateCustomerRequest(email="x@example.com")
        request.MergeFrom(customer_pb2.CreateCustomerRequest(**fields))
        error = await failure(merchant.client.customers.CreateCustomer(request), code)
        assert (error.reason, error.param) == (reason, param), fields
    listed = await merchant.client.customers.ListCustomers(customer_pb2.ListCustomersRequest())
    assert len(listed.data) == 1  # the one that took `taken`
    assert (
        await merchant.client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=free.id)
        )
    ).customer == ""


async def test_payment_methods_list_by_customer_and_type_newest_first(
    merchant: MerchantFixture,
) -> None:
    customer = await new_customer(merchant.client)
    cards = [await new_card(merchant.client) for _ in range(3)]
    loose = await new_card(merchant.client, MASTERCARD)
    for card in cards:
        await merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
        )
    page = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest(customer=customer.id, limit=2)
    )
    assert [method.id for method in page.data] == [cards[2].id, cards[1].id] and page.has_more
    rest = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest(
            customer=customer.id, starting_after=page.data[-1].id
        )
    )
    assert [method.id for method in rest.data] == [cards[0].id] and not rest.has_more
    every = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest(type=customer_pb2.PAYMENT_METHOD_TYPE_CARD)
    )
    assert [method.id for method in every.data] == [loose.id, *(c.id for c in reversed(cards))]
    unknown = await failure(
        merchant.client.customers.ListPaymentMethods(
            customer_pb2.ListPaymentMethodsRequest(customer="cus_" + "0" * 22)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,  # a list's filter (REST's path form answers 404)
    )
    assert (unknown.reason, unknown.param) == ("RESOURCE_MISSING", "customer")
    bad_type = await failure(
        merchant.client.customers.ListPaymentMethods(
            customer_pb2.ListPaymentMethodsRequest(type=UNKNOWN_TYPE)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_type.param == "type"


async def test_another_merchants_payment_methods_are_not_found(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    theirs = await new_card(other_merchant.client)
    their_customer = await new_customer(other_merchant.client)
    my_customer = await new_customer(merchant.client)
    mine = await new_card(merchant.client)
    calls = [
        merchant.client.customers.GetPaymentMethod(
            customer_pb2.GetPaymentMethodRequest(id=theirs.id)
        ),
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=theirs.id, customer=my_customer.id)
        ),
        merchant.client.customers.DetachPaymentMethod(
            customer_pb2.DetachPaymentMethodRequest(id=theirs.id)
        ),
    ]
    for call in calls:
        error = await failure(call, grpc.StatusCode.NOT_FOUND)
        assert error.reason == "RESOURCE_MISSING"
    # Their customer named by my attachment or my list's filter: missing to me, the request's
    # bad argument.
    for naming_theirs in (
        merchant.client.customers.AttachPaymentMethod(
            customer_pb2.AttachPaymentMethodRequest(id=mine.id, customer=their_customer.id)
        ),
        merchant.client.customers.ListPaymentMethods(
            customer_pb2.ListPaymentMethodsRequest(customer=their_customer.id)
        ),
    ):
        error = await failure(naming_theirs, grpc.StatusCode.INVALID_ARGUMENT)
        assert (error.reason, error.param) == ("RESOURCE_MISSING", "customer")
    listed = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest()
    )
    assert [method.id for method in listed.data] == [mine.id]
    untouched = await other_merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=theirs.id)
    )
    assert untouched.customer == ""


async def test_payment_method_mutations_are_idempotent(merchant: MerchantFixture) -> None:
    request = card_request(VISA, cvc="321")
    first = await merchant.client.customers.CreatePaymentMethod(
        request, metadata=idempotency_key("pm-once")
    )
    again = await merchant.client.customers.CreatePaymentMethod(
        request, metadata=idempotency_key("pm-once")
    )
    assert again == first
    for changed in (card_request(MASTERCARD, cvc="321"), card_request(VISA, cvc="322")):
        error = await failure(
            merchant.client.customers.CreatePaymentMethod(
                changed, metadata=idempotency_key("pm-once")
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert error.reason == "IDEMPOTENCY_KEY_REUSED"
    listed = await merchant.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest()
    )
    assert [method.id for method in listed.data] == [first.id]
    customer = await new_customer(merchant.client)
    attach = customer_pb2.AttachPaymentMethodRequest(id=first.id, customer=customer.id)
    attached = await merchant.client.customers.AttachPaymentMethod(
        attach, metadata=idempotency_key("attach-once")
    )
    detach = customer_pb2.DetachPaymentMethodRequest(id=first.id)
    detached = await merchant.client.customers.DetachPaymentMethod(
        detach, metadata=idempotency_key("detach-once")
    )
    assert (
        await merchant.client.customers.AttachPaymentMethod(
            attach, metadata=idempotency_key("attach-once")
        )
        == attached
    )
    assert (
        await merchant.client.customers.DetachPaymentMethod(
            detach, metadata=idempotency_key("detach-once")
        )
        == detached
    )


async def test_concurrent_attaches_to_two_customers_leave_one_owner(
    merchant: MerchantFixture,
) -> None:
    card = await new_card(merchant.client)
    customers = [await new_customer(merchant.client) for _ in range(2)]
    outcomes = await asyncio.gather(
        *(
            merchant.client.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
            )
            for customer in customers
        ),
        return_exceptions=True,
    )
    attached = [outcome for outcome in outcomes if isinstance(outcome, customer_pb2.PaymentMethod)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(attached) == 1 and len(refused) == 1
    assert refused[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    owner = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=card.id)
    )
    assert owner.customer == attached[0].customer


async def test_a_customer_s_payment_method_by_both_ids(merchant: MerchantFixture) -> None:
    customer = await new_customer(merchant.client, email="payer@example.com")
    other = await new_customer(merchant.client, email="other@example.com")
    card = await new_card(merchant.client)
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
    )

    found = await merchant.client.customers.GetCustomerPaymentMethod(
        customer_pb2.GetCustomerPaymentMethodRequest(customer=customer.id, payment_method=card.id)
    )

    assert (found.id, found.customer) == (card.id, customer.id)
    elsewhere = await failure(
        merchant.client.customers.GetCustomerPaymentMethod(
            customer_pb2.GetCustomerPaymentMethodRequest(customer=other.id, payment_method=card.id)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (elsewhere.reason, elsewhere.param) == ("RESOURCE_MISSING", "payment_method")
