"""Customer dataclasses -> CustomerService messages."""

from __future__ import annotations

from paycore.customer.models import (
    Address,
    Card,
    CardBrand,
    CardFunding,
    Customer,
    PaymentMethod,
)
from paycore.v1 import customer_pb2

BRANDS = {
    CardBrand.AMEX: customer_pb2.CARD_BRAND_AMEX,
    CardBrand.DINERS: customer_pb2.CARD_BRAND_DINERS,
    CardBrand.DISCOVER: customer_pb2.CARD_BRAND_DISCOVER,
    CardBrand.JCB: customer_pb2.CARD_BRAND_JCB,
    CardBrand.MASTERCARD: customer_pb2.CARD_BRAND_MASTERCARD,
    CardBrand.UNIONPAY: customer_pb2.CARD_BRAND_UNIONPAY,
    CardBrand.VISA: customer_pb2.CARD_BRAND_VISA,
    CardBrand.UNKNOWN: customer_pb2.CARD_BRAND_UNKNOWN,
}
FUNDINGS = {
    CardFunding.CREDIT: customer_pb2.CARD_FUNDING_CREDIT,
    CardFunding.DEBIT: customer_pb2.CARD_FUNDING_DEBIT,
    CardFunding.PREPAID: customer_pb2.CARD_FUNDING_PREPAID,
    CardFunding.UNKNOWN: customer_pb2.CARD_FUNDING_UNKNOWN,
}


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


WALLETS = {
    "apple_pay": customer_pb2.CARD_WALLET_TYPE_APPLE_PAY,
    "google_pay": customer_pb2.CARD_WALLET_TYPE_GOOGLE_PAY,
}


def _wallet(card: Card) -> customer_pb2.CardWallet | None:
    if not card.wallet:
        return None
    return customer_pb2.CardWallet(type=WALLETS[card.wallet], dynamic_last4=card.last4)


def payment_method_message(method: PaymentMethod) -> customer_pb2.PaymentMethod:
    card = method.card
    return customer_pb2.PaymentMethod(
        id=method.id,
        type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
        card=customer_pb2.PaymentMethod.Card(
            brand=BRANDS[card.brand],
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            country=card.country,
            funding=FUNDINGS[card.funding],
            wallet=_wallet(card),
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
