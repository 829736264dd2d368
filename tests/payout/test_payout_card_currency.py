"""A payout card's default currency (CreatePayoutCard without `currency`): its issuing
country's where paycore knows it, else the payee's default settlement currency. The test cards
that are debit cards are all US-issued, so the fallback is checked here, on the rule itself."""

from __future__ import annotations

import pytest
from paycore.payout.bank_accounts import payout_card_currency


@pytest.mark.parametrize(
    ("country", "payees", "expected"),
    [
        ("US", "eur", "usd"),  # a US card pays out in usd whatever the payee settles in
        ("DE", "usd", "eur"),
        ("FR", "gbp", "eur"),
        ("GB", "usd", "gbp"),
        ("AR", "eur", "eur"),  # a country paycore knows no currency of: the payee's
        ("", "gbp", "gbp"),  # an issuer paycore does not know
    ],
)
def test_a_payout_cards_default_currency(country: str, payees: str, expected: str) -> None:
    assert payout_card_currency(country, payees) == expected
