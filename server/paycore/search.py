"""Stripe's Search Query Language, the subset paycore answers (`GET /v1/customers/search`,
`/v1/payment_intents/search`): clauses joined by `AND` or by `OR` (never both, as Stripe's),
each `field:"value"` (exact), `-field:"value"` (not), `field~"value"` (contains, text
fields), `metadata["key"]:"value"`, `field:null` / `-field:null`, and `field>N`, `>=`, `<`,
`<=` on numbers (`created`, `amount`); a value or a metadata key in single quotes as well
(`email:'a@b.c'`, as Stripe's guide writes them).

    parse("query", 'email:"a@b.c"', {"email": FieldKind.TEXT})
    parse("query", 'status:"succeeded" AND metadata["order"]:"7" AND created>1700000000', ...)

Each mistake is INVALID_ARGUMENT naming the parameter (`query`), saying where and what."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from paycore.errors import invalid, missing

QUERY_LENGTH_MAX = 1000
CLAUSES_MAX = 10


class FieldKind(Enum):
    TEXT = "text"
    NUMBER = "number"
    METADATA = "metadata"


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    """":" (equals), "~" (contains), ">", ">=", "<", "<="."""
    value: str | int | None
    """None: `field:null`."""
    key: str = ""
    """The metadata key of `metadata["key"]`."""
    negated: bool = False


@dataclass(frozen=True)
class SearchQuery:
    clauses: tuple[Clause, ...]
    any_of: bool = False
    """Joined by OR (else AND)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<keyword>AND|OR)(?=\s|$)
      | (?P<clause>
          (?P<negated>-)?
          (?P<field>[a-z_]+)
          (?:\[\s*(?:"(?P<key>(?:[^"\\]|\\.)*)"|'(?P<single_key>(?:[^'\\]|\\.)*)')\s*\])?
          (?P<operator>>=|<=|:|~|>|<)
          (?:"(?P<text>(?:[^"\\]|\\.)*)"|'(?P<single_text>(?:[^'\\]|\\.)*)'
            |(?P<number>-?[0-9]+)|(?P<null>null))
        )
    )""",
    re.VERBOSE,
)
_ORDERING = (">", ">=", "<", "<=")


def _check_length(param: str, query: str) -> None:
    """A query is required (PARAMETER_MISSING), not blank and at most QUERY_LENGTH_MAX long."""
    if not query:
        raise missing(param)
    if not query.strip():
        raise invalid(param, 'must be a search query such as email:"a@b.c"')
    if len(query) > QUERY_LENGTH_MAX:
        raise invalid(param, f"is longer than {QUERY_LENGTH_MAX} characters")


def parse(param: str, query: str, fields: Mapping[str, FieldKind]) -> SearchQuery:
    """`query` parsed against the searchable `fields` (INVALID_ARGUMENT naming `param`)."""
    _check_length(param, query)
    clauses: list[Clause] = []
    keywords: set[str] = set()
    position, expect_clause = 0, True
    while position < len(query.rstrip()):
        found = _TOKEN.match(query, position)
        if found is None or found.end() == position:
            raise invalid(param, f"cannot be parsed at character {position + 1}")
        keyword = found.group("keyword")
        if expect_clause == bool(keyword):
            what = 'a clause such as field:"value"' if expect_clause else "AND or OR"
            raise invalid(param, f"expects {what} at character {found.start() + 1}")
        if keyword:
            keywords.add(keyword)
        else:
            clauses.append(_clause(param, found, fields))
        position, expect_clause = found.end(), bool(keyword)
    if expect_clause:
        raise invalid(param, "ends with AND or OR: a clause must follow")
    if len(keywords) > 1:
        raise invalid(param, "cannot combine AND and OR")
    if len(clauses) > CLAUSES_MAX:
        raise invalid(param, f"has more than {CLAUSES_MAX} clauses")
    return SearchQuery(tuple(clauses), any_of=keywords == {"OR"})


def _clause(param: str, found: re.Match[str], fields: Mapping[str, FieldKind]) -> Clause:
    name, operator, key = found.group("field"), found.group("operator"), _quoted(found, "key")
    kind = fields.get(name)
    if kind is None:
        known = ", ".join(sorted(fields))
        raise invalid(param, f"names {name}, which is not searchable here (only {known})")
    if (kind is FieldKind.METADATA) != (key is not None):
        shape = f'{name}["key"]' if kind is FieldKind.METADATA else name
        raise invalid(param, f"must name the field as {shape}")
    value = _value(param, name, kind, operator, found)
    unescaped_key = "" if key is None else re.sub(r"\\(.)", r"\1", key)
    return Clause(name, operator, value, unescaped_key, negated=found.group("negated") == "-")


def _quoted(found: re.Match[str], group: str) -> str | None:
    """A quoted string's content, in double quotes or in single quotes (Stripe's documentation
    writes `email:'a@b.c'` and `metadata['order_id']:'6735'`); None when not given."""
    double = found.group(group)
    return double if double is not None else found.group(f"single_{group}")


def _value(
    param: str, name: str, kind: FieldKind, operator: str, found: re.Match[str]
) -> str | int | None:
    """The clause's value, checked against its field's kind and its operator."""
    if found.group("null") is not None:
        if operator != ":":
            raise invalid(param, f"compares {name} with null: only {name}:null is allowed")
        return None
    text, number = _quoted(found, "text"), found.group("number")
    if kind is not FieldKind.NUMBER:
        if text is None:
            raise invalid(param, f'gives {name} a bare number: quote it, {name}:"{number}"')
        if operator in _ORDERING:
            raise invalid(param, f"compares {name} with {operator}: only numbers compare so")
        return re.sub(r"\\(.)", r"\1", text)
    if operator == "~":
        raise invalid(param, f"searches {name} with ~: only text fields contain")
    given = number if number is not None else text or ""
    if not re.fullmatch(r"-?[0-9]{1,18}", given):
        raise invalid(param, f"gives {name} the value {given!r}: a number is expected")
    return int(given)
