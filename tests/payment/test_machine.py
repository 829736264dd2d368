"""The payment intent state machine (paycore.payment.machine) and the statements built from
the schema, without a database: an illegal move raises before anything is written, and a
misspelt column fails when the statement is built."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from paycore.errors import ApiError, InvariantViolation, Reason
from paycore.executor.models import Execution
from paycore.payment.charging import charging
from paycore.payment.machine import (
    CANCELABLE,
    TRANSITIONS,
    IllegalIntentTransition,
    check_initial,
    check_move,
    require,
)
from paycore.payment.models import Intent, IntentStatus, Risk
from paycore.payment.repository import decode_intent, encode_intent
from paycore.storage.rows import Decoder
from paycore.storage.schema import payment_intents
from paycore.storage.statements import Insert, assignments

from tests.converters import sample_of

S = IntentStatus


def intent_in(status: IntentStatus) -> Intent:
    sample: Intent = sample_of(Intent)
    return replace(sample, status=status)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.SUCCEEDED, S.REQUIRES_PAYMENT_METHOD),
        (S.SUCCEEDED, S.PROCESSING),
        (S.CANCELED, S.PROCESSING),
        (S.REQUIRES_CAPTURE, S.SUCCEEDED),
        (S.REQUIRES_CAPTURE, S.CANCELED),
        (S.REQUIRES_CONFIRMATION, S.SUCCEEDED),
        (S.PROCESSING, S.PROCESSING),
    ],
)
def test_illegal_moves_raise(current: IntentStatus, wanted: IntentStatus) -> None:
    with pytest.raises(IllegalIntentTransition) as raised:
        check_move(intent_in(current), wanted)
    assert isinstance(raised.value, InvariantViolation)
    assert (raised.value.current, raised.value.wanted) == (current, wanted)


def test_every_listed_move_is_allowed_and_final_states_have_none() -> None:
    for current, allowed in TRANSITIONS.items():
        for wanted in allowed:
            check_move(intent_in(current), wanted)
    assert TRANSITIONS[S.SUCCEEDED] == TRANSITIONS[S.CANCELED] == frozenset()
    assert set(TRANSITIONS) == set(IntentStatus)


def test_an_intent_is_not_created_succeeded() -> None:
    check_initial("pi_1", S.REQUIRES_CONFIRMATION)
    with pytest.raises(InvariantViolation):
        check_initial("pi_1", S.SUCCEEDED)


def test_charging_a_succeeded_intent_raises() -> None:
    execution = sample_of(Execution)
    with pytest.raises(IllegalIntentTransition):
        charging(intent_in(S.SUCCEEDED), "pm_1", sample_of(Risk), execution)


def test_a_request_in_the_wrong_state_is_the_callers_error() -> None:
    with pytest.raises(ApiError) as raised:
        require(intent_in(S.SUCCEEDED), "cancel", CANCELABLE)
    assert raised.value.reason is Reason.PAYMENT_INTENT_UNEXPECTED_STATE


def test_a_misspelt_column_fails_when_the_statement_is_built() -> None:
    with pytest.raises(LookupError, match="amout"):
        Insert(payment_intents, ["merchant_id", "amout"])
    with pytest.raises(LookupError, match="stauts"):
        assignments(payment_intents, ["stauts"], 3)
    with pytest.raises(LookupError):
        Decoder(payment_intents, Risk)  # Risk's fields are no columns of payment_intents


def test_an_intent_encodes_to_its_columns_and_back() -> None:
    intent = sample_of(
        Intent, created=1_700_000_000, canceled_at=1_700_000_100, risk=sample_of(Risk)
    )
    row = dict(zip(encode_intent.columns, encode_intent(intent), strict=True))
    assert set(row) == {column.name for column in payment_intents.columns}
    # What asyncpg reads back: JSON decoded.
    for column in ("last_error", "risk", "metadata", "next_action"):
        row[column] = json.loads(row[column])
    assert decode_intent(row) == intent
