"""The model's reasons name what the payment shows, not what it lacks: a geography mismatch,
a guest checkout, a first purchase or an amount abroad is named only when the payment has it.
An ordinary $1 purchase by a US card from a US address to a US billing address was answered
with the reason `country_mismatch` (the model's path through "no mismatch" raised its score),
which a reader, or a test asserting the reasons of a case, takes as the opposite of the
facts."""

from __future__ import annotations

import secrets

from paycore.v1 import fraud_pb2

from tests.helpers import MerchantFixture


async def test_a_payment_without_a_mismatch_is_not_said_to_have_one(
    merchant: MerchantFixture,
) -> None:
    for amount in (100, 1_000, 5_000):
        assessment = await merchant.client.fraud.ScorePayment(
            fraud_pb2.ScorePaymentRequest(
                amount=amount,
                currency="usd",
                card_fingerprint=secrets.token_hex(8),
                card_country="US",
                ip=f"198.51.100.{secrets.randbelow(250) + 1}",
                ip_country="US",
                country="US",
            )
        )
        named = set(assessment.reasons) & {
            "country_mismatch",
            "card_country_mismatch",
            "card_billing_mismatch",
            "abroad_usd",
        }
        assert named == set(), (amount, list(assessment.reasons))
