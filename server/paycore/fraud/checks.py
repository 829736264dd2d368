"""ScorePaymentRequest -> PaymentFacts: every check names its field (INVALID_ARGUMENT) and
runs before anything is counted or stored."""

from __future__ import annotations

import ipaddress
import re

from paycore import validation
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.fraud.features import PaymentFacts
from paycore.ids import MalformedId, Prefix, remembered_logical_shard_of
from paycore.v1 import fraud_pb2

FINGERPRINT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
BRAND = re.compile(r"^[a-z_ ]{1,20}$")
USER_AGENT_LENGTH_MAX = 500
FUTURE_SLACK_S = 86_400
PAYMENT_PREFIXES = (Prefix.PAYMENT, Prefix.PAYMENT_INTENT)


def payment_facts(
    merchant_id: str, request: fraud_pb2.ScorePaymentRequest, now_ms: int
) -> PaymentFacts:
    currency = validation.currency("currency", request.currency)
    fingerprint = request.card_fingerprint.strip()
    if fingerprint and not FINGERPRINT.match(fingerprint):
        raise invalid("card_fingerprint", "1 to 64 letters, digits, '-' or '_'")
    brand = request.card_brand.strip().lower()
    if brand and not BRAND.match(brand):
        raise invalid("card_brand", "a card brand such as visa or mastercard")
    if request.customer_created < 0 or request.customer_created > now_ms // 1000 + FUTURE_SLACK_S:
        raise invalid("customer_created", "unix seconds, not in the future")
    validation.object_id(
        "payment_method", request.payment_method, Prefix.PAYMENT_METHOD, required=False
    )
    validation.text("user_agent", request.user_agent, maximum=USER_AGENT_LENGTH_MAX)
    return PaymentFacts(
        merchant=merchant_id,
        payment=payment_id("payment", request.payment),
        amount=validation.amount("amount", request.amount, currency),
        currency=currency,
        card_fingerprint=fingerprint,
        card_brand=brand,
        card_country=_country("card_country", request.card_country),
        customer=validation.object_id(
            "customer", request.customer, Prefix.CUSTOMER, required=False
        ),
        customer_created_s=request.customer_created,
        ip=ip_address("ip", request.ip) if request.ip else "",
        ip_country=_country("ip_country", request.ip_country),
        email=validation.email("email", request.email, required=False).lower(),
        country=_country("country", request.country),
        timestamp_ms=now_ms,
    )


def payment_id(param: str, value: str) -> str:
    """A "pay_..." or "pi_..." id."""
    if not value:
        raise missing(param)
    for prefix in PAYMENT_PREFIXES:
        try:
            remembered_logical_shard_of(value, prefix)
        except MalformedId:
            continue
        return value
    raise ApiError(Reason.ID_MALFORMED, param=param, prefix="pay_... or pi")


def _country(param: str, value: str) -> str:
    return validation.country(param, value) if value else ""


def ip_address(param: str, value: str) -> str:
    """The address in its canonical text form."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise invalid(param, "must be an IPv4 or IPv6 address") from None
