"""Every currency paycore takes has a reference rate for fraud's `amount_usd`: a currency
without one counted a major unit as a dollar, so an ordinary US$20 purchase in Tanzanian
shillings (TZS 50,000) scored as US$50,000 and was held for review (`amount_limit`,
`large_first_purchase`), as were ordinary purchases in 83 other currencies paycore accepts."""

from __future__ import annotations

import pytest
from paycore.fraud.features import USD_CENTS_PER_THOUSAND_UNITS, amount_usd_cents
from paycore.iso import CURRENCY_EXPONENTS
from paycore.v1 import fraud_pb2

from tests.fraud.support import returning_customer
from tests.helpers import MerchantFixture


def test_every_accepted_currency_has_a_reference_rate() -> None:
    assert sorted(set(CURRENCY_EXPONENTS) - set(USD_CENTS_PER_THOUSAND_UNITS)) == []


@pytest.mark.parametrize(
    ("amount", "currency", "low", "high"),
    [
        (5_000_000, "tzs", 1_500, 2_500),  # TZS 50,000: about US$19
        (9_000_000, "mga", 1_500, 2_500),  # MGA 90,000: about US$20
        (1_000_000, "crc", 1_500, 2_500),  # CRC 10,000: about US$20
        (300_000, "bdt", 2_000, 3_000),  # BDT 3,000: about US$25
        (10_000, "xcd", 3_000, 4_500),  # XCD 100 (pegged at 2.70): about US$37
        (100_000, "bmd", 100_000, 100_000),  # BMD 1,000 (pegged at par)
    ],
)
def test_amounts_in_small_units_convert_to_about_their_dollars(
    amount: int, currency: str, low: int, high: int
) -> None:
    assert low <= amount_usd_cents(amount, currency) <= high


@pytest.mark.parametrize(
    ("amount", "currency", "country"),
    [(5_000_000, "tzs", "TZ"), (1_000_000, "crc", "CR"), (400_000, "jmd", "JM")],
)
async def test_an_ordinary_purchase_in_a_small_unit_currency_is_allowed(
    merchant: MerchantFixture, amount: int, currency: str, country: str
) -> None:
    # A two-year-old customer's first payment with a card of its own country, from home.
    first = returning_customer(
        merchant.merchant.id,
        amount=amount,
        currency=currency,
        card_country=country,
        ip_country=country,
        country=country,
    )
    assessment = await merchant.client.fraud.ScorePayment(first)
    assert assessment.decision == fraud_pb2.RISK_DECISION_ALLOW, assessment
    assert not {"amount_limit", "large_first_purchase"} & set(assessment.reasons)
