"""Stripe's test payment methods: in test mode `pm_card_visa` and its kin stand where a payment
method's id goes (PaymentIntents' `payment_method`, AttachPaymentMethod's id, CreateCustomer's
`payment_method`), as Stripe's documentation and SDK examples use them. Each use makes a new
payment method of the named test card, as Stripe does, so an intent or a customer shows a real
`pm_` id afterwards; it is written in the transaction that records the request
(CustomerService.test_card, then save_test_card). A live merchant gets NOT_FOUND, as for any id
it does not have.

The numbers are the test cards the PSP simulator answers with fixed outcomes
(paycore.tools.psp.cards, docs/psp-simulator.md)."""

from __future__ import annotations

from paycore import validation
from paycore.errors import invalid, not_found
from paycore.ids import Prefix

TEST_CARD_NUMBERS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_bypassPending": "4000000000000077",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_createDisputeProductNotReceived": "4000000000002685",
    "pm_card_createDisputeInquiry": "4000000000001976",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
    "pm_card_threeDSecureOptional": "4000000000003055",
    "pm_card_radarBlock": "4100000000000019",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_riskLevelHighest": "4000000000004954",
    "pm_card_riskLevelElevated": "4000000000009235",
}
"""Stripe's name of each test payment method -> its card number. The simulator's transient
failure card (4000000000009839, HTTP 500, retried by the executor) is ours and has none. The
Radar cards (the last four names) succeed at the simulator: their outcome is fraud scoring's
(paycore.fraud.decision.TEST_CARD_RULES, docs/fraud.md "Test cards")."""

TEST_CARD_NAMES = {number: name for name, number in reversed(TEST_CARD_NUMBERS.items())}
"""Card number -> the first name above of that number (`pm_card_radarBlock` for 4100...0019)."""

TEST_NAME_PREFIX = "pm_card_"
"""What every test payment method's name starts with: another such name is NOT_FOUND."""

TEST_CARD_YEARS_VALID = 3
"""A test payment method's card expires in December, this many years from now."""


def test_card_name(number: str) -> str:
    """The test payment method's name of a card number, "" when it is no test card's: a
    number typed in is the same test card as its name."""
    return TEST_CARD_NAMES.get(number, "")


def is_test_payment_method(value: str) -> bool:
    return value in TEST_CARD_NUMBERS


def payment_method_reference(param: str, value: str, *, required: bool = True) -> str:
    """A payment method's id, or the name of a test payment method (`pm_card_visa`); the
    id's check otherwise (paycore.validation.object_id)."""
    if is_test_payment_method(value):
        return value
    if value.startswith(TEST_NAME_PREFIX):  # as Stripe answers a test name it does not have
        raise not_found("payment_method", value, param)
    return validation.object_id(param, value, Prefix.PAYMENT_METHOD, required=required)


def attached_payment_method_id(param: str, value: str, *, required: bool = True) -> str:
    """The id of a payment method attached to a customer (a subscription's
    `default_payment_method`): a test payment method's name there is none of the customer's, so
    it is refused saying how to get one (attaching the name makes a new payment method of its
    card, whose pm_ id the field then takes), where the id's check called it malformed."""
    if value.startswith(TEST_NAME_PREFIX):
        raise invalid(
            param,
            f"{value} is a test payment method's name, not a payment method of the customer's: "
            f"attach one to the customer first (POST /v1/payment_methods/{value}/attach with "
            "customer=cus_..., or POST /v1/payment_methods then its attach) and pass its pm_ id",
        )
    return validation.object_id(param, value, Prefix.PAYMENT_METHOD, required=required)
