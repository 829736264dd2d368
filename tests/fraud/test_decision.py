"""The decision's order of precedence and the amount conversion, without servers."""

from __future__ import annotations

import pytest
from paycore.fraud.decision import decide
from paycore.fraud.features import amount_usd_cents, email_kind
from paycore.fraud.models import BlocklistType
from paycore.fraud.rules import DEFAULT_POLICY, Decision

QUIET = {"amount_usd": 4_000, "ip_attempts_1m": 1}


def test_a_block_rule_wins_over_a_model_that_allows() -> None:
    verdict = decide(DEFAULT_POLICY, {**QUIET, "ip_attempts_1m": 11}, [], 20, (), False)
    assert verdict.decision is Decision.BLOCK
    assert verdict.reasons == ["ip_velocity_1m"]


def test_the_model_blocks_what_no_rule_caught_and_names_its_features() -> None:
    verdict = decide(DEFAULT_POLICY, QUIET, [], 950, ("ip_cards_1h", "email_kind"), False)
    assert verdict.decision is Decision.BLOCK
    assert verdict.reasons == ["model_score_high", "ip_cards_1h", "email_kind"]


def test_a_review_rule_holds_what_the_model_allows_and_blocklists_come_first() -> None:
    large = {**QUIET, "amount_usd": 2_500_000}
    assert decide(DEFAULT_POLICY, large, [], 10, (), False).decision is Decision.REVIEW
    blocked = decide(
        DEFAULT_POLICY, large, [BlocklistType.EMAIL, BlocklistType.CARD_FINGERPRINT], 10, (), False
    )
    assert blocked.decision is Decision.BLOCK
    assert blocked.reasons == ["blocklisted_card", "blocklisted_email", "amount_limit"]


@pytest.mark.parametrize(
    ("amount_usd", "expected"), [(10_000, Decision.ALLOW), (10_001, Decision.REVIEW)]
)
def test_without_counters_small_payments_go_on_and_larger_ones_wait(
    amount_usd: int, expected: Decision
) -> None:
    verdict = decide(DEFAULT_POLICY, {**QUIET, "amount_usd": amount_usd}, [], 100, (), True)
    assert verdict.decision is expected
    assert verdict.reasons == ["velocity_unavailable"]


@pytest.mark.parametrize(
    ("amount", "currency", "cents"),
    [
        (12_345, "usd", 12_345),
        (10_000, "eur", 10_800),
        (1_000, "jpy", 670),  # zero-decimal
        (1, "jpy", 1),  # 0.67 cents rounds up to 1
        (1_000, "kwd", 325),  # three-decimal: 1 dinar
        (1_500, "kwd", 488),  # 487.5 rounds half up
        (100_000, "vnd", 400),  # zero-decimal, a small unit
        (100, "xcd", 37),  # pegged at 2.70 a dollar
    ],
)
def test_amounts_convert_to_us_cents_with_one_rounding(
    amount: int, currency: str, cents: int
) -> None:
    assert amount_usd_cents(amount, currency) == cents


def test_email_kinds() -> None:
    assert [email_kind(e) for e in ("", "a@acme.test", "a@GMAIL.com", "a@mailinator.com")] == [
        0,
        1,
        2,
        3,
    ]


def test_a_test_card_is_decided_by_neither_the_default_rules_nor_the_model() -> None:
    declined_often = {**QUIET, "card_declines_1h": 7}
    verdict = decide(
        DEFAULT_POLICY, declined_often, [], 959, ("amount_usd",), True, test_card="pm_card_visa"
    )
    assert verdict.decision is Decision.ALLOW
    assert verdict.reasons == [
        "test_card",
        "card_declines_1h",
        "velocity_unavailable",
        "amount_usd",
    ]
    assert decide(DEFAULT_POLICY, declined_often, [], 959, (), False).decision is Decision.BLOCK


def test_a_test_card_is_still_blocklisted_and_a_radar_card_has_its_outcome() -> None:
    blocked = decide(DEFAULT_POLICY, QUIET, [BlocklistType.EMAIL], 10, (), False, test_card="x")
    assert (blocked.decision, blocked.reasons) == (
        Decision.BLOCK,
        ["blocklisted_email", "test_card"],
    )
    elevated = decide(
        DEFAULT_POLICY, QUIET, [], 10, (), False, test_card="pm_card_riskLevelElevated"
    )
    assert elevated.decision is Decision.REVIEW
    assert elevated.reasons == ["test_card", "test_card_risk_level_elevated"]
