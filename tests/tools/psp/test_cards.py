"""The test card numbers: valid, distinct, and mapped to their outcomes."""

from __future__ import annotations

import pytest
from paycore.tools.psp import cards
from paycore.tools.psp.cards import Outcome, brand_of, luhn_valid, outcome_of

ALL_CARDS = [
    cards.CARD_SUCCEEDS,
    cards.CARD_DECLINED,
    cards.CARD_INSUFFICIENT_FUNDS,
    cards.CARD_EXPIRED,
    cards.CARD_INCORRECT_CVC,
    cards.CARD_PROCESSING_ERROR,
    cards.CARD_PSP_ERROR,
    cards.CARD_TIMES_OUT,
    cards.CARD_ANSWER_LOST,
]


def test_every_test_card_passes_luhn_and_is_distinct() -> None:
    assert all(luhn_valid(number) for number in ALL_CARDS)
    assert len(set(ALL_CARDS)) == len(ALL_CARDS)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4242424242424242", True),
        ("4242424242424241", False),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("42424242424242a2", False),
        ("42", False),
        ("4" * 20, False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners"),
        ("9999999999999995", "unknown"),
    ],
)
def test_brand(number: str, brand: str) -> None:
    assert brand_of(number) == brand


def test_outcomes() -> None:
    assert outcome_of(cards.CARD_SUCCEEDS) is Outcome.SUCCEEDS
    assert outcome_of("5555555555554444") is Outcome.SUCCEEDS
    assert outcome_of(cards.CARD_DECLINED).decline_code == "generic_decline"
    assert outcome_of(cards.CARD_INSUFFICIENT_FUNDS).decline_code == "insufficient_funds"
    assert outcome_of(cards.CARD_EXPIRED).decline_code == "expired_card"
    assert outcome_of(cards.CARD_INCORRECT_CVC).decline_code == "incorrect_cvc"
    assert outcome_of(cards.CARD_PROCESSING_ERROR).decline_code == "processing_error"
    assert outcome_of(cards.CARD_PSP_ERROR) is Outcome.PSP_ERROR
    assert outcome_of(cards.CARD_PSP_ERROR).decline_code == ""
    assert outcome_of(cards.CARD_TIMES_OUT) is Outcome.TIMES_OUT
    assert outcome_of(cards.CARD_ANSWER_LOST) is Outcome.ANSWER_LOST
