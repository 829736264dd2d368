"""CustomerService requests -> checked customer dataclasses; each failure an ApiError naming
the field, raised before anything changes. The card number and cvc become Secrets here, as
they leave the request."""

from __future__ import annotations

import re
from typing import Any

from paycore import validation
from paycore.customer.models import (
    Address,
    BillingDetails,
    CardInput,
    CustomerChanges,
    DiscountChoice,
    NewCustomer,
    PaymentMethodChanges,
)
from paycore.customer.test_methods import payment_method_reference
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import Prefix
from paycore.runtime.messages import member
from paycore.runtime.servicing import metadata_change
from paycore.secret import Secret
from paycore.v1 import customer_pb2

# The proto's limits (customer.proto), Stripe's where Stripe has one.
NAME_LENGTH_MAX = 256
PHONE_LENGTH_MAX = 20
ADDRESS_FIELD_LENGTH_MAX = 200
_CREATABLE_TYPES: dict[int, str] = {customer_pb2.PAYMENT_METHOD_TYPE_CARD: "card"}
# ListPaymentMethods' type filter: number -> whether only cards are listed.
_TYPE_FILTERS: dict[int, bool] = {
    customer_pb2.PAYMENT_METHOD_TYPE_UNSPECIFIED: False,
    customer_pb2.PAYMENT_METHOD_TYPE_CARD: True,
}


def new_customer(request: customer_pb2.CreateCustomerRequest) -> NewCustomer:
    return NewCustomer(
        email=validation.email("email", request.email, required=False),
        name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX),
        description=validation.description(request.description),
        phone=validation.text("phone", request.phone, maximum=PHONE_LENGTH_MAX),
        address=address("address", request.address),
        metadata=validation.metadata("metadata", request.metadata),
        test_clock_id=validation.object_id(
            "test_clock", request.test_clock, Prefix.TEST_CLOCK, required=False
        )
        or None,
    )


def payment_method_id(request: customer_pb2.GetPaymentMethodRequest) -> str:
    """GetPaymentMethod's id, or a test payment method's name (`payment_method_reference`)."""
    return payment_method_reference("id", request.id)


def attachment(request: customer_pb2.AttachPaymentMethodRequest) -> tuple[str, str]:
    """AttachPaymentMethod's payment method (an id, or a test payment method's name that
    attaches a new one of its card) and customer. An unknown `pm_card_` name is NOT_FOUND
    naming `id`, as a payment intent answers it for `payment_method`: one check,
    `payment_method_reference`, for every place a payment method is named."""
    payment_method_id = payment_method_reference("id", request.id)
    customer_id = validation.object_id("customer", request.customer, Prefix.CUSTOMER)
    return payment_method_id, customer_id


def first_payment_method(request: customer_pb2.CreateCustomerRequest) -> tuple[str, bool]:
    """CreateCustomer's payment_method (an id or a test payment method's name, "" for none) and
    whether invoice_settings makes it the default: a new customer has no other to name."""
    reference = payment_method_reference("payment_method", request.payment_method, required=False)
    default = request.invoice_settings.default_payment_method
    if not default:
        return reference, False
    param = "invoice_settings.default_payment_method"
    payment_method_reference(param, default)
    if default != reference:
        raise ApiError(
            Reason.PAYMENT_METHOD_NOT_ATTACHED, param=param, id=default, customer="the new customer"
        )
    return reference, True


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
    if request.clear_address and request.HasField("address"):
        raise invalid("address", "cannot be given with clear_address")
    changed_address = None
    if request.HasField("address") or request.clear_address:
        changed_address = address("address", request.address)  # cleared: the empty one
    return CustomerChanges(
        email=validation.email("email", request.email, required=False)
        if request.HasField("email")
        else None,
        name=validation.text("name", request.name, maximum=NAME_LENGTH_MAX)
        if request.HasField("name")
        else None,
        description=validation.description(request.description)
        if request.HasField("description")
        else None,
        phone=validation.text("phone", request.phone, maximum=PHONE_LENGTH_MAX)
        if request.HasField("phone")
        else None,
        address=changed_address,
        default_payment_method=default_payment_method,
        metadata=metadata_change(request),
        discount=discount_choice(request),
    )


def payment_method_changes(
    request: customer_pb2.UpdatePaymentMethodRequest,
) -> PaymentMethodChanges:
    """The fields present in the request, checked; absent ones stay None (unchanged). The
    expiry is checked by the domain, against the stored month or year it keeps."""
    billing = request.billing_details
    param = "billing_details"
    return PaymentMethodChanges(
        name=validation.text(f"{param}.name", billing.name, maximum=NAME_LENGTH_MAX)
        if billing.HasField("name")
        else None,
        email=validation.email(f"{param}.email", billing.email, required=False)
        if billing.HasField("email")
        else None,
        phone=validation.text(f"{param}.phone", billing.phone, maximum=PHONE_LENGTH_MAX)
        if billing.HasField("phone")
        else None,
        address=address(f"{param}.address", billing.address)
        if billing.HasField("address")
        else None,
        exp_month=request.card.exp_month if request.card.HasField("exp_month") else None,
        exp_year=request.card.exp_year if request.card.HasField("exp_year") else None,
        metadata=metadata_change(request),
    )


def card_input(request: customer_pb2.CreatePaymentMethodRequest) -> CardInput:
    """The card of a CreatePaymentMethod request (the domain checks the card itself)."""
    if request.type == customer_pb2.PAYMENT_METHOD_TYPE_UNSPECIFIED:
        raise missing("type")
    validation.enum_value("type", request.type, _CREATABLE_TYPES, customer_pb2.PaymentMethodType)
    if not request.HasField("card"):
        raise missing("card")
    return CardInput(
        number=Secret(request.card.number),
        exp_month=request.card.exp_month,
        exp_year=request.card.exp_year,
        cvc=Secret(request.card.cvc),
        **_wallet(request.card),
    )


WALLET_TYPES: dict[int, str] = {
    customer_pb2.CARD_WALLET_TYPE_APPLE_PAY: "apple_pay",
    customer_pb2.CARD_WALLET_TYPE_GOOGLE_PAY: "google_pay",
}


def _wallet(card: customer_pb2.CreatePaymentMethodRequest.Card) -> dict[str, Any]:
    """A wallet token's type and cryptogram (a Secret from here on), or nothing."""
    if not card.HasField("wallet"):
        return {}
    if card.wallet.type == customer_pb2.CARD_WALLET_TYPE_UNSPECIFIED:
        raise missing("card.wallet.type")
    validation.enum_value(
        "card.wallet.type", card.wallet.type, WALLET_TYPES, customer_pb2.CardWalletType
    )
    return {"wallet": WALLET_TYPES[card.wallet.type], "cryptogram": Secret(card.wallet.cryptogram)}


def card_only(request: customer_pb2.ListPaymentMethodsRequest) -> bool:
    return member("type", request.type, _TYPE_FILTERS, customer_pb2.PaymentMethodType)


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


COUPON_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def discount_choice(
    request: customer_pb2.CreateCustomerRequest | customer_pb2.UpdateCustomerRequest,
) -> DiscountChoice | None:
    """The coupon or promotion code to redeem onto the customer (one at most); None for
    neither."""
    if request.coupon and request.promotion_code:
        raise invalid("promotion_code", "give coupon or promotion_code, not both")
    if request.coupon:
        if not COUPON_ID.match(request.coupon):
            raise invalid("coupon", "must be 1 to 200 letters, digits, '_' or '-'")
        return DiscountChoice(coupon_id=request.coupon)
    if request.promotion_code:
        code = validation.object_id("promotion_code", request.promotion_code, Prefix.PROMOTION_CODE)
        return DiscountChoice(promotion_code_id=code)
    return None
