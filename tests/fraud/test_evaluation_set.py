"""The hand-written evaluation set (server/paycore/fraud/evaluation/cases.json): what it covers,
that it is never a training row, and that the committed model and rules meet its bar."""

from __future__ import annotations

import datetime
from collections import Counter

from paycore.fraud.evaluation.cases import PASS_SHARE, load_cases, run_cases
from paycore.fraud.model import load_model
from paycore.fraud.rules import Decision

PATTERNS = {
    "ordinary",
    "card_testing",
    "stolen_card",
    "geography",
    "account_takeover",
    "refund_abuse",
    "email",
    "guest",
    "returning",
    "first_purchase",
    "merchant_list",
    "isolation",
}


def test_the_set_covers_every_pattern_every_hour_and_many_regions() -> None:
    cases = load_cases()
    assert len(cases) >= 60
    assert len({case.id for case in cases}) == len(cases)
    assert {case.category for case in cases} == PATTERNS
    assert all(len(case.why) > 20 for case in cases)
    assert set(Counter(case.expect for case in cases)) == set(Decision)
    ordinary = [case for case in cases if case.category == "ordinary"]
    hours = {
        datetime.datetime.fromtimestamp(case.payment.timestamp_ms / 1000, datetime.UTC).hour
        for case in ordinary
    }
    assert hours == set(range(24))
    assert len({case.payment.ip_country for case in ordinary}) >= 20


def test_the_committed_model_decides_the_set_as_an_analyst_would() -> None:
    result = run_cases(load_model())
    failed = [
        (outcome.case.id, outcome.case.expect.code, outcome.decision.code, outcome.reasons)
        for outcome in result.outcomes
        if not outcome.passed
    ]
    assert result.share >= PASS_SHARE, failed
    assert result.ordinary_blocked == ()


def test_no_case_is_a_training_row() -> None:
    """Training reads only the generator's history (and exported labels): no case id, card or
    customer of the set appears in it."""
    from paycore.fraud.generator import GeneratorConfig, generate

    history = generate(GeneratorConfig(days=3, customers=500))
    cards = {case.payment.card_fingerprint for case in load_cases()}
    assert not cards & {payment.facts.card_fingerprint for payment in history}
