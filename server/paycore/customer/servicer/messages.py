"""Customer dataclasses -> CustomerService messages (the composition root builds
paycore.customer.events.CustomerEvents' recorders with these)."""

from __future__ import annotations

from paycore.customer.models import Customer, PaymentMethod
from paycore.runtime.messages import converts, message_of
from paycore.subscription.models import Discount
from paycore.subscription.servicer.messages import coupon_message, discount_message
from paycore.v1 import customer_pb2


@converts(customer_pb2.Customer)
def customer_message(customer: Customer) -> customer_pb2.Customer:
    return message_of(
        customer_pb2.Customer,
        customer,
        invoice_settings=customer_pb2.InvoiceSettings(
            default_payment_method=customer.default_payment_method or ""
        ),
        test_clock=customer.test_clock_id or "",
        discount=None if customer.discount is None else discount_message(customer.discount),
    )


@converts(customer_pb2.DeletedDiscount)
def deleted_discount_message(discount: Discount) -> customer_pb2.DeletedDiscount:
    return customer_pb2.DeletedDiscount(
        id=discount.id,
        deleted=True,
        customer=discount.customer_id,
        coupon=coupon_message(discount.coupon),
        promotion_code=discount.promotion_code_id or "",
        start=discount.start,
        end=discount.end or 0,
        created=discount.start,
    )


@converts(customer_pb2.DeleteCustomerResponse)
def deleted_customer_message(customer: Customer) -> customer_pb2.DeleteCustomerResponse:
    return customer_pb2.DeleteCustomerResponse(id=customer.id, deleted=True)


@converts(customer_pb2.PaymentMethod)
def payment_method_message(method: PaymentMethod) -> customer_pb2.PaymentMethod:
    return message_of(
        customer_pb2.PaymentMethod, method, type=customer_pb2.PAYMENT_METHOD_TYPE_CARD
    )
