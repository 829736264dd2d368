"""Requests for the fraud tests: valid ids on the merchant's shard, ordinary buyers."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from typing import Any

from paycore.fraud.features import PaymentFacts
from paycore.fraud.servicer.requests import payment_facts
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.v1 import fraud_pb2

YEAR_S = 365 * 86_400


REVIEW_EVERYTHING = fraud_pb2.UpdateRiskPolicyRequest(
    rules=[
        fraud_pb2.RiskRule(
            name="review_everything",
            conditions=[fraud_pb2.RiskCondition(feature="amount_usd", above=0)],
            action=fraud_pb2.RISK_DECISION_REVIEW,
        )
    ]
)
"""A merchant policy whose one rule holds every payment for review."""


def payment_id(merchant_id: str) -> str:
    return new_id(Prefix.PAYMENT, logical_shard_of(merchant_id, Prefix.ACCOUNT))


def customer_id(merchant_id: str) -> str:
    return new_id(Prefix.CUSTOMER, logical_shard_of(merchant_id, Prefix.ACCOUNT))


def fingerprint() -> str:
    return secrets.token_hex(8)


def ip() -> str:
    return f"203.0.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


def returning_customer(merchant_id: str, **fields: Any) -> fraud_pb2.ScorePaymentRequest:
    """A two-year-old customer paying a usual amount from home with a card of its own."""
    values: dict[str, Any] = {
        "payment": payment_id(merchant_id),
        "amount": 4_250,
        "currency": "usd",
        "card_fingerprint": fingerprint(),
        "card_brand": "visa",
        "card_country": "US",
        "customer": customer_id(merchant_id),
        "customer_created": int(time.time()) - 2 * YEAR_S,
        "ip": ip(),
        "ip_country": "US",
        "email": "jane.doe@gmail.com",
        "country": "US",
    }
    values.update(fields)
    return fraud_pb2.ScorePaymentRequest(**values)


def again(
    request: fraud_pb2.ScorePaymentRequest, merchant_id: str
) -> fraud_pb2.ScorePaymentRequest:
    """The same buyer paying again (a new payment)."""
    repeated = fraud_pb2.ScorePaymentRequest()
    repeated.CopyFrom(request)
    repeated.payment = payment_id(merchant_id)
    return repeated


def in_process(merchant_id: str, request: fraud_pb2.ScorePaymentRequest) -> PaymentFacts:
    """The request as the payment flow hands a payment to FraudService: checked, its card the
    vault's."""
    checked = payment_facts(merchant_id, request, time.time_ns() // 1_000_000)
    return replace(checked, card_observed=True)
