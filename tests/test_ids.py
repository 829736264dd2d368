from __future__ import annotations

import pytest
from paycore.ids import (
    BASE62_ALPHABET,
    BODY_LENGTH,
    MAX_LOGICAL_SHARDS,
    MalformedId,
    Prefix,
    decode_base62,
    encode_base62,
    new_id,
    parse_id,
    random_base62,
)


def test_id_carries_prefix_time_and_shard() -> None:
    value = new_id(Prefix.PAYMENT_INTENT, 37, timestamp_ms=1_790_000_000_123)
    assert value.startswith("pi_") and len(value) == 3 + BODY_LENGTH
    parsed = parse_id(value, Prefix.PAYMENT_INTENT)
    assert (parsed.timestamp_ms, parsed.logical_shard) == (1_790_000_000_123, 37)


def test_every_shard_round_trips() -> None:
    for shard in (0, 1, 63, MAX_LOGICAL_SHARDS - 1):
        assert parse_id(new_id(Prefix.ACCOUNT, shard), Prefix.ACCOUNT).logical_shard == shard
    with pytest.raises(ValueError):
        new_id(Prefix.ACCOUNT, MAX_LOGICAL_SHARDS)


def test_ids_sort_by_creation_time_as_strings() -> None:
    times = [1, 61, 62, 3_844, 1_700_000_000_000, 1_700_000_000_001, 2**48 - 1]
    ids = [new_id(Prefix.CUSTOMER, 5, timestamp_ms=moment) for moment in times]
    assert sorted(ids) == ids


def test_ids_are_unique() -> None:
    ids = {new_id(Prefix.EVENT, 1, timestamp_ms=1) for _ in range(10_000)}
    assert len(ids) == 10_000


@pytest.mark.parametrize(
    "value",
    ["", "pi", "pi_", "cus_" + "0" * 22, "pi_" + "0" * 21, "pi_" + "-" * 22, "pi_" + "z" * 22],
)
def test_malformed_ids_are_refused(value: str) -> None:
    with pytest.raises(MalformedId):
        parse_id(value, Prefix.PAYMENT_INTENT)


def test_base62_round_trip() -> None:
    for number in (0, 1, 61, 62, 2**64, 2**128 - 1):
        assert decode_base62(encode_base62(number, 22), 22) == number


def test_random_tokens_use_the_whole_alphabet_at_full_length() -> None:
    tokens = [random_base62(32) for _ in range(2000)]
    assert all(len(token) == 32 for token in tokens)
    assert len(set(tokens)) == 2000
    assert set("".join(tokens)) == set(BASE62_ALPHABET)
    assert {token[0] for token in tokens} == set(BASE62_ALPHABET)


def test_ids_made_in_one_millisecond_keep_their_order() -> None:
    ids = [
        new_id(Prefix.BALANCE_TRANSACTION, 9, timestamp_ms=1_800_000_000_000) for _ in range(500)
    ]
    assert sorted(ids) == ids
    assert len(set(ids)) == 500
