"""CustomerService over gRPC: request -> checks -> domain call -> response, nothing more.

The card number and cvc become Secrets as they leave the request; the idempotency hash of a
CreatePaymentMethod request holds keyed digests in their place (see `_hashed_form`)."""

from __future__ import annotations

from typing import Any

from grpc import aio
from paycore import validation
from paycore.customer.models import (
    Address,
    BillingDetails,
    CardBrand,
    CardFunding,
    CardInput,
    Customer,
    CustomerChanges,
    NewCustomer,
    PaymentMethod,
)
from paycore.customer.service import CustomerService
from paycore.errors import missing
from paycore.ids import Prefix
from paycore.runtime.context import CallerKind, current_call
from paycore.runtime.mutations import Mutations
from paycore.secret import Secret
from paycore.v1 import customer_pb2, customer_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

Context = aio.ServicerContext[Any, Any]
# The proto's limits (customer.proto), Stripe's where Stripe has one.
NAME_LENGTH_MAX = 256
DESCRIPTION_LENGTH_MAX = 1000
PHONE_LENGTH_MAX = 20
ADDRESS_FIELD_LENGTH_MAX = 200
_BRANDS = {
    CardBrand.AMEX: customer_pb2.CARD_BRAND_AMEX,
    CardBrand.DINERS: customer_pb2.CARD_BRAND_DINERS,
    CardBrand.DISCOVER: customer_pb2.CARD_BRAND_DISCOVER,
    CardBrand.JCB: customer_pb2.CARD_BRAND_JCB,
    CardBrand.MASTERCARD: customer_pb2.CARD_BRAND_MASTERCARD,
    CardBrand.UNIONPAY: customer_pb2.CARD_BRAND_UNIONPAY,
    CardBrand.VISA: customer_pb2.CARD_BRAND_VISA,
    CardBrand.UNKNOWN: customer_pb2.CARD_BRAND_UNKNOWN,
}
_FUNDINGS = {
    CardFunding.CREDIT: customer_pb2.CARD_FUNDING_CREDIT,
    CardFunding.DEBIT: customer_pb2.CARD_FUNDING_DEBIT,
    CardFunding.PREPAID: customer_pb2.CARD_FUNDING_PREPAID,
    CardFunding.UNKNOWN: customer_pb2.CARD_FUNDING_UNKNOWN,
}
_CREATABLE_TYPES: dict[int, str] = {customer_pb2.PAYMENT_METHOD_TYPE_CARD: "card"}
# ListPaymentMethods' type filter: number -> whether only cards are listed.
_TYPE_FILTERS: dict[int, bool] = {
    customer_pb2.PAYMENT_METHOD_TYPE_UNSPECIFIED: False,
    customer_pb2.PAYMENT_METHOD_TYPE_CARD: True,
}


class CustomerServicer(customer_pb2_grpc.CustomerServiceServicer):
    def __init__(self, service: CustomerService, mutations: Mutations) -> None:
        self._service = service
        self._mutations = mutations

    async def CreateCustomer(
        self, request: customer_pb2.CreateCustomerRequest, context: Context
    ) -> customer_pb2.Customer:
        merchant_id = current_call().require_merchant()
        new = NewCustomer(
            email=validation.email("email", request.email, required=False),
            name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX),
            description=validation.text(
                "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
            ),
            phone=validation.text("phone", request.phone, maximum=PHONE_LENGTH_MAX),
            address=address("address", request.address),
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> customer_pb2.Customer:
            return customer_message(
                await self._service.create_customer(connection, merchant_id, new)
            )

        return await self._mutations.for_merchant(
            merchant_id, request, customer_pb2.Customer, change
        )

    async def GetCustomer(
        self, request: customer_pb2.GetCustomerRequest, context: Context
    ) -> customer_pb2.Customer:
        merchant_id = current_call().require_merchant()
        customer_id = validation.object_id("id", request.id, Prefix.CUSTOMER)
        return customer_message(await self._service.get_customer(merchant_id, customer_id))

    async def UpdateCustomer(
        self, request: customer_pb2.UpdateCustomerRequest, context: Context
    ) -> customer_pb2.Customer:
        merchant_id = current_call().require_merchant()
        customer_id = validation.object_id("id", request.id, Prefix.CUSTOMER)
        changes = customer_changes(request)

        async def change(connection: AsyncConnection) -> customer_pb2.Customer:
            return customer_message(
                await self._service.update_customer(connection, merchant_id, customer_id, changes)
            )

        return await self._mutations.for_merchant(
            merchant_id, request, customer_pb2.Customer, change
        )

    async def ListCustomers(
        self, request: customer_pb2.ListCustomersRequest, context: Context
    ) -> customer_pb2.ListCustomersResponse:
        merchant_id = current_call().require_merchant()
        page = await self._service.list_customers(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.CUSTOMER, required=False
            ),
            validation.email("email", request.email, required=False),
        )
        return customer_pb2.ListCustomersResponse(
            data=[customer_message(customer) for customer in page.data], has_more=page.has_more
        )

    async def CreatePaymentMethod(
        self, request: customer_pb2.CreatePaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        if request.type == customer_pb2.PAYMENT_METHOD_TYPE_UNSPECIFIED:
            raise missing("type")
        validation.enum_value("type", request.type, _CREATABLE_TYPES)
        if not request.HasField("card"):
            raise missing("card")
        card = self._service.check_card(
            CardInput(
                number=Secret(request.card.number),
                exp_month=request.card.exp_month,
                exp_year=request.card.exp_year,
                cvc=Secret(request.card.cvc),
            )
        )
        billing_details = billing("billing_details", request.billing_details)
        metadata = validation.metadata("metadata", request.metadata)

        async def change(connection: AsyncConnection) -> customer_pb2.PaymentMethod:
            created = await self._service.create_payment_method(
                connection, merchant_id, card, billing_details, metadata
            )
            return payment_method_message(created)

        created = await self._mutations.for_merchant(
            merchant_id, self._hashed_form(request), customer_pb2.PaymentMethod, change
        )
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
        merchant_id = current_call().require_merchant()
        payment_method_id = validation.object_id("id", request.id, Prefix.PAYMENT_METHOD)
        return payment_method_message(
            await self._service.get_payment_method(merchant_id, payment_method_id)
        )

    async def ListPaymentMethods(
        self, request: customer_pb2.ListPaymentMethodsRequest, context: Context
    ) -> customer_pb2.ListPaymentMethodsResponse:
        merchant_id = current_call().require_merchant()
        card_only = _TYPE_FILTERS[validation.enum_value("type", request.type, _TYPE_FILTERS)]
        page = await self._service.list_payment_methods(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.PAYMENT_METHOD, required=False
            ),
            validation.object_id("customer", request.customer, Prefix.CUSTOMER, required=False),
            card_only,
        )
        return customer_pb2.ListPaymentMethodsResponse(
            data=[payment_method_message(method) for method in page.data],
            has_more=page.has_more,
        )

    async def AttachPaymentMethod(
        self, request: customer_pb2.AttachPaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        payment_method_id = validation.object_id("id", request.id, Prefix.PAYMENT_METHOD)
        customer_id = validation.object_id("customer", request.customer, Prefix.CUSTOMER)

        async def change(connection: AsyncConnection) -> customer_pb2.PaymentMethod:
            attached = await self._service.attach_payment_method(
                connection, merchant_id, payment_method_id, customer_id
            )
            return payment_method_message(attached)

        return await self._mutations.for_merchant(
            merchant_id, request, customer_pb2.PaymentMethod, change
        )

    async def DetachPaymentMethod(
        self, request: customer_pb2.DetachPaymentMethodRequest, context: Context
    ) -> customer_pb2.PaymentMethod:
        merchant_id = current_call().require_merchant()
        payment_method_id = validation.object_id("id", request.id, Prefix.PAYMENT_METHOD)

        async def change(connection: AsyncConnection) -> customer_pb2.PaymentMethod:
            detached = await self._service.detach_payment_method(
                connection, merchant_id, payment_method_id
            )
            return payment_method_message(detached)

        return await self._mutations.for_merchant(
            merchant_id, request, customer_pb2.PaymentMethod, change
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
        return hashed


def customer_changes(request: customer_pb2.UpdateCustomerRequest) -> CustomerChanges:
    """The fields present in the request, checked; absent ones stay None (unchanged)."""
    default_payment_method = None
    if request.HasField("invoice_settings"):
        default_payment_method = validation.object_id(
            "invoice_settings.default_payment_method",
            request.invoice_settings.default_payment_method,
            Prefix.PAYMENT_METHOD,
            required=False,
        )
    return CustomerChanges(
        email=validation.email("email", request.email, required=False)
        if request.HasField("email")
        else None,
        name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX)
        if request.HasField("name")
        else None,
        description=validation.text(
            "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
        )
        if request.HasField("description")
        else None,
        phone=validation.text("phone", request.phone, maximum=PHONE_LENGTH_MAX)
        if request.HasField("phone")
        else None,
        address=address("address", request.address) if request.HasField("address") else None,
        default_payment_method=default_payment_method,
        # Merged by the service; an empty value removes the key.
        metadata=validation.metadata("metadata", request.metadata),
    )


def address(param: str, message: customer_pb2.Address) -> Address:
    def field(name: str) -> str:
        return validation.text(
            f"{param}.{name}", getattr(message, name), maximum=ADDRESS_FIELD_LENGTH_MAX
        )

    country = message.country.strip()
    return Address(
        line1=field("line1"),
        line2=field("line2"),
        city=field("city"),
        state=field("state"),
        postal_code=field("postal_code"),
        country=validation.country(f"{param}.country", country) if country else "",
    )


def billing(param: str, message: customer_pb2.BillingDetails) -> BillingDetails:
    return BillingDetails(
        name=validation.text(f"{param}.name", message.name, maximum=NAME_LENGTH_MAX),
        email=validation.email(f"{param}.email", message.email, required=False),
        phone=validation.text(f"{param}.phone", message.phone, maximum=PHONE_LENGTH_MAX),
        address=address(f"{param}.address", message.address),
    )


def address_message(value: Address) -> customer_pb2.Address:
    return customer_pb2.Address(
        line1=value.line1,
        line2=value.line2,
        city=value.city,
        state=value.state,
        postal_code=value.postal_code,
        country=value.country,
    )


def customer_message(customer: Customer) -> customer_pb2.Customer:
    return customer_pb2.Customer(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        description=customer.description,
        phone=customer.phone,
        address=address_message(customer.address),
        invoice_settings=customer_pb2.InvoiceSettings(
            default_payment_method=customer.default_payment_method or ""
        ),
        created=customer.created,
        metadata=customer.metadata,
    )


def payment_method_message(method: PaymentMethod) -> customer_pb2.PaymentMethod:
    card = method.card
    return customer_pb2.PaymentMethod(
        id=method.id,
        type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
        card=customer_pb2.PaymentMethod.Card(
            brand=_BRANDS[card.brand],
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            country=card.country,
            funding=_FUNDINGS[card.funding],
        ),
        billing_details=customer_pb2.BillingDetails(
            name=method.billing_details.name,
            email=method.billing_details.email,
            phone=method.billing_details.phone,
            address=address_message(method.billing_details.address),
        ),
        customer=method.customer_id or "",
        created=method.created,
        metadata=method.metadata,
    )
