"""paycore.search: Stripe's search query language, the subset paycore answers, parsed or
refused naming `query`."""

from __future__ import annotations

import pytest
from paycore.errors import ApiError
from paycore.search import Clause, FieldKind, SearchQuery, parse

FIELDS = {
    "email": FieldKind.TEXT,
    "status": FieldKind.TEXT,
    "amount": FieldKind.NUMBER,
    "created": FieldKind.NUMBER,
    "metadata": FieldKind.METADATA,
}


def test_clauses_joined_by_and_with_metadata_numbers_and_negation() -> None:
    query = parse(
        "query",
        'status:"succeeded" AND metadata["order"]:"7" AND created>1700000000 '
        'AND -email:"a\\"b@c.d" AND amount<=500 AND email~"shop"',
        FIELDS,
    )

    assert query == SearchQuery(
        (
            Clause("status", ":", "succeeded"),
            Clause("metadata", ":", "7", key="order"),
            Clause("created", ">", 1700000000),
            Clause("email", ":", 'a"b@c.d', negated=True),
            Clause("amount", "<=", 500),
            Clause("email", "~", "shop"),
        )
    )


def test_or_and_null_and_a_quoted_number() -> None:
    query = parse("query", 'email:null OR amount:"300"', FIELDS)

    assert query == SearchQuery(
        (Clause("email", ":", None), Clause("amount", ":", 300)), any_of=True
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "required"),
        ("email", "cannot be parsed at character 1"),
        ('email:"a@b.c" status:"x"', "expects AND or OR"),
        ('email:"a@b.c" AND', "ends with AND or OR"),
        ('AND email:"a@b.c"', "expects a clause"),
        ('email:"a" AND status:"b" OR amount>1', "cannot combine AND and OR"),
        ('colour:"red"', "not searchable here"),
        ('metadata:"x"', 'metadata["key"]'),
        ('email["k"]:"x"', "must name the field as email"),
        ('email>"a"', "only numbers compare so"),
        ("email:7", "quote it"),
        ('amount~"5"', "only text fields contain"),
        ('amount:"five"', "a number is expected"),
        ("created>null", "only created:null"),
        ('email:"unterminated', "cannot be parsed"),
    ],
)
def test_bad_queries_name_the_query_and_say_what(text: str, says: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse("query", text, FIELDS)

    assert raised.value.param == "query"
    assert says in str(raised.value), str(raised.value)


def test_values_and_metadata_keys_in_single_quotes() -> None:
    query = parse("query", "metadata['order']:'7' AND -email:'o\\'b@c.d'", FIELDS)

    assert query == SearchQuery(
        (
            Clause("metadata", ":", "7", key="order"),
            Clause("email", ":", "o'b@c.d", negated=True),
        )
    )
