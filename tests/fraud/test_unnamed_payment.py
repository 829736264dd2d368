"""ScorePayment as issue 5 and the contract describe it: amount, currency and the buyer's
signals, no payment id. A caller scoring before it has a payment of its own (a merchant's
checkout, a test of the velocity rules) names none; paycore names the payment (`pay_...` on
the merchant's shard) and answers it, so that ReportOutcome and the review refer to it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, idempotency_key
from paycore.ids import Prefix, logical_shard_of
from paycore.v1 import fraud_pb2

from tests.fraud.support import ip, returning_customer
from tests.helpers import MerchantFixture, rich_error

BLOCK = fraud_pb2.RISK_DECISION_BLOCK


def _unnamed(**fields: object) -> fraud_pb2.ScorePaymentRequest:
    values: dict[str, object] = {
        "amount": 4_250,
        "currency": "usd",
        "card_fingerprint": secrets.token_hex(8),
        "card_country": "US",
        "ip": ip(),
        "ip_country": "US",
        "country": "US",
        "email": "jane.doe@gmail.com",
    }
    values.update(fields)
    return fraud_pb2.ScorePaymentRequest(**values)  # type: ignore[arg-type]


async def test_a_score_without_a_payment_names_the_payment_paycore_assigned(
    merchant: MerchantFixture,
) -> None:
    merchant_id = merchant.merchant.id
    first = await merchant.client.fraud.ScorePayment(_unnamed())
    second = await merchant.client.fraud.ScorePayment(_unnamed())
    assert first.payment.startswith("pay_"), first
    assert second.payment.startswith("pay_") and second.payment != first.payment
    merchant_shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
    assert logical_shard_of(first.payment, Prefix.PAYMENT) == merchant_shard


async def test_a_named_payment_is_answered_as_named(merchant: MerchantFixture) -> None:
    request = returning_customer(merchant.merchant.id)
    assessment = await merchant.client.fraud.ScorePayment(request)
    assert assessment.payment == request.payment


async def test_a_burst_of_unnamed_payments_from_one_ip_is_blocked_after_the_velocity_limit(
    merchant: MerchantFixture,
) -> None:
    # An address of its own (one of 62,500): the velocity counters are the platform's, shared
    # by every test of the run, and one of 250 could be another test's within the minute.
    attacker_ip = ip()
    assessments = [
        await merchant.client.fraud.ScorePayment(
            _unnamed(amount=100, ip=attacker_ip, card_country="BR", ip_country="VN")
        )
        for _ in range(14)
    ]
    limit = 10  # ip_velocity_1m: more than 10 attempts a minute from one IP
    assert all("ip_velocity_1m" not in a.reasons for a in assessments[:limit])
    assert all(a.decision == BLOCK for a in assessments[limit:])
    assert all("ip_velocity_1m" in a.reasons for a in assessments[limit:])


async def test_the_assigned_payment_takes_an_outcome(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    assessment = await merchant.client.fraud.ScorePayment(_unnamed())
    operator = admin_client_for(merchant.merchant.id)
    reported = await operator.fraud.ReportOutcome(
        fraud_pb2.ReportOutcomeRequest(
            payment=assessment.payment, label=fraud_pb2.OUTCOME_LABEL_FRAUDULENT
        )
    )
    assert reported.payment == assessment.payment
    assert reported.label == fraud_pb2.OUTCOME_LABEL_FRAUDULENT


async def test_a_replay_answers_the_payment_first_assigned(merchant: MerchantFixture) -> None:
    request = _unnamed()
    key = idempotency_key(f"unnamed-{time.time_ns()}")
    first = await merchant.client.fraud.ScorePayment(request, metadata=key)
    replayed = await merchant.client.fraud.ScorePayment(request, metadata=key)
    assert replayed.payment == first.payment


async def test_a_malformed_payment_is_still_refused_naming_it(merchant: MerchantFixture) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.fraud.ScorePayment(_unnamed(payment="ch_123"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "payment"
