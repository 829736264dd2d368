"""CustomerService over gRPC: request -> checks (requests.py) -> domain call -> message
(messages.py), nothing more. Changes run through Mutations, which opens their transaction.

The idempotency hash of a CreatePaymentMethod request holds keyed digests in place of the card
number and cvc (see `_hashed_form`)."""

from __future__ import annotations

from dataclasses import dataclass

from grpc import aio
from paycore import search, validation
from paycore.customer.models import CUSTOMER_SEARCH_FIELDS
from paycore.customer.service import CustomerService
from paycore.customer.servicer import requests
from paycore.customer.servicer.messages import (
    customer_message,
    deleted_customer_message,
    deleted_discount_message,
    payment_method_message,
)
from paycore.ids import Prefix
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.mutations import Mutations
from paycore.runtime.servicing import (
    ChangingRpcs,
    Context,
    add_servicer,
    cursor_of,
    merchant_and_cursor,
    page_response,
    search_cursor,
    search_response,
)
from paycore.secret import Secret
from paycore.v1 import customer_pb2, customer_pb2_grpc

rpcs: ChangingRpcs[CustomerServicer] = ChangingRpcs()


@dataclass(frozen=True, slots=True)
class CustomerServicer(customer_pb2_grpc.CustomerServiceServicer):
    _service: CustomerService
    _mutations: Mutations

    async def CreateCustomer(
        self, request: customer_pb2.CreateCustomerRequest, context: Context
    ) -> customer_pb2.Customer:
        merchant_id = current_call().require_merchant()
        new = requests.new_customer(request)
        discount = requests.discount_choice(request)
        reference, default = requests.first_payment_method(request)
        first = await self._service.first_payment_method(merchant_id, reference, default)
        return await self._mutations.answer(
            merchant_id,
            request,
            customer_message,
            self._service.create_customer,
            new,
            first,
            discount,
        )

    GetCustomer = rpcs.get(Prefix.CUSTOMER, lambda s: s._service.get_customer, customer_message)

    UpdateCustomer = rpcs.update(
        Prefix.CUSTOMER,
        customer_message,
        lambda s: s._service.update_customer,
        requests.customer_changes,
    )

    DeleteCustomer = rpcs.change_by_id(
        Prefix.CUSTOMER, deleted_customer_message, lambda s: s._service.delete_customer
    )

    DeleteCustomerDiscount = rpcs.change_by_id(
        Prefix.CUSTOMER, deleted_discount_message, lambda s: s._service.delete_discount
    )

    async def ListCustomers(
        self, request: customer_pb2.ListCustomersRequest, context: Context
    ) -> customer_pb2.ListCustomersResponse:
        merchant_id, cursor = merchant_and_cursor(request, Prefix.CUSTOMER)
        email = validation.email("email", request.email, required=False)
        page = await self._service.list_customers(merchant_id, cursor, email)
        return page_response(customer_pb2.ListCustomersResponse, page, customer_message)

    async def SearchCustomers(
        self, request: customer_pb2.SearchCustomersRequest, context: Context
    ) -> customer_pb2.SearchCustomersResponse:
        merchant_id = current_call().require_merchant()
        query = search.parse("query", request.query, CUSTOMER_SEARCH_FIELDS)
        cursor = search_cursor(request, Prefix.CUSTOMER)
        page = await self._service.search_customers(merchant_id, cursor, query)
        return search_response(customer_pb2.SearchCustomersResponse, page, customer_message)

    async def CreatePaymentMethod(
        self, request: customer_pb2.CreatePaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        typed = requests.card_input(request)
        card = self._service.check_card(typed)
        billing_details = requests.billing("billing_details", request.billing_details)
        metadata = validation.metadata("metadata", request.metadata)
        created = await self._mutations.for_merchant(
            merchant_id,
            self._hashed_form(request),
            payment_method_message,
            lambda connection: self._service.create_payment_method(
                connection, merchant_id, card, billing_details, metadata
            ),
        )
        if card.wallet:
            await self._service.hold_cryptogram(merchant_id, created.id, typed.cryptogram)
        caller = current_call().caller
        if caller is not None and caller.kind is CallerKind.PUBLISHABLE_KEY:
            # The platform-wide fingerprint would let anyone holding a (public) publishable key
            # test guessed numbers against a fingerprint seen elsewhere (issue 23, item 5).
            created.card.fingerprint = self._service.merchant_fingerprint(
                merchant_id, created.card.fingerprint
            )
        return created

    async def GetPaymentMethod(
        self, request: customer_pb2.GetPaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        """By id, or by a test payment method's name (`pm_card_visa`), as Stripe's test mode."""
        merchant_id = current_call().require_merchant()
        payment_method_id = requests.payment_method_id(request)
        found = await self._service.get_payment_method(merchant_id, payment_method_id)
        return payment_method_message(found)

    async def GetCustomerPaymentMethod(
        self, request: customer_pb2.GetCustomerPaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        customer_id = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
        payment_method_id = validation.object_id(
            "payment_method", request.payment_method, Prefix.PAYMENT_METHOD
        )
        found = await self._service.customer_payment_method(
            merchant_id, customer_id, payment_method_id
        )
        return payment_method_message(found)

    async def ListPaymentMethods(
        self, request: customer_pb2.ListPaymentMethodsRequest, context: Context
    ) -> customer_pb2.ListPaymentMethodsResponse:
        merchant_id = current_call().require_merchant()
        card_only = requests.card_only(request)
        cursor = cursor_of(request, Prefix.PAYMENT_METHOD)
        customer_id = validation.object_id(
            "customer", request.customer, Prefix.CUSTOMER, required=False
        )
        page = await self._service.list_payment_methods(merchant_id, cursor, customer_id, card_only)
        return page_response(customer_pb2.ListPaymentMethodsResponse, page, payment_method_message)

    async def AttachPaymentMethod(
        self, request: customer_pb2.AttachPaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        payment_method_id, customer_id = requests.attachment(request)
        return await self._mutations.answer(
            merchant_id,
            request,
            payment_method_message,
            self._service.attach_payment_method,
            payment_method_id,
            customer_id,
        )

    UpdatePaymentMethod = rpcs.update(
        Prefix.PAYMENT_METHOD,
        payment_method_message,
        lambda s: s._service.update_payment_method,
        requests.payment_method_changes,
    )

    DetachPaymentMethod = rpcs.change_by_id(
        Prefix.PAYMENT_METHOD, payment_method_message, lambda s: s._service.detach_payment_method
    )

    def _hashed_form(
        self, request: customer_pb2.CreatePaymentMethodRequest
    ) -> customer_pb2.CreatePaymentMethodRequest:
        """The request as the idempotency store hashes it: keyed digests in place of the number
        and cvc, so that the stored hash cannot be brute-forced back to a card."""
        hashed = customer_pb2.CreatePaymentMethodRequest()
        hashed.CopyFrom(request)
        hashed.card.number = self._service.request_digest("number", Secret(request.card.number))
        hashed.card.cvc = self._service.request_digest("cvc", Secret(request.card.cvc))
        if request.card.HasField("wallet"):
            hashed.card.wallet.cryptogram = self._service.request_digest(
                "cryptogram", Secret(request.card.wallet.cryptogram)
            )
        return hashed


def register(server: aio.Server, service: CustomerService, mutations: Mutations) -> str:
    """Adds CustomerService to `server`; returns its full name."""
    add = customer_pb2_grpc.add_CustomerServiceServicer_to_server
    return add_servicer(server, add, CustomerServicer(service, mutations))
