"""A parsed search query (paycore.search, Stripe's query language) as the SQL condition a
List's query takes: each searchable field names its column; a time column (`created_at`)
compares with unix seconds, a JSONB column is searched by key (`metadata["order"]`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paycore.ranges import moment
from paycore.search import Clause, SearchQuery
from sqlalchemy import ColumnElement, DateTime, String, and_, or_, true
from sqlalchemy.dialects.postgresql import JSONB


def search_condition(
    query: SearchQuery, columns: Mapping[str, ColumnElement[Any]]
) -> ColumnElement[bool]:
    """The rows `query` finds, its fields read from `columns` (every field it names has one:
    paycore.search.parse checked them against the same names)."""
    conditions = [_condition(clause, columns[clause.field]) for clause in query.clauses]
    return or_(*conditions) if query.any_of else and_(*conditions)


def _condition(clause: Clause, column: ColumnElement[Any]) -> ColumnElement[bool]:
    if isinstance(column.type, JSONB):
        column = column[clause.key].astext
    value = clause.value
    found: ColumnElement[bool]
    if value is None:
        texts = isinstance(column.type, String)
        found = or_(column.is_(None), column == "") if texts else column.is_(None)
    elif clause.operator == "~":
        found = column.ilike(f"%{_escaped(str(value))}%", escape="\\")
    elif isinstance(column.type, DateTime) and isinstance(value, int):
        found = _in_seconds(column, clause.operator, max(0, value))
    else:
        found = {
            ":": column == value,
            ">": column > value,
            ">=": column >= value,
            "<": column < value,
            "<=": column <= value,
        }[clause.operator]
    # `-field:"x"` keeps the rows whose field is null too (NULL = 'x' is not false in SQL).
    return found.is_not(true()) if clause.negated else found


def _in_seconds(column: ColumnElement[Any], operator: str, seconds: int) -> ColumnElement[bool]:
    """A time column against whole unix seconds, as an object's `created` reads it (its
    `created_at` truncated): `created:N` is the second [N, N + 1)."""
    start, end = moment(seconds), moment(seconds + 1)
    return {
        ":": and_(column >= start, column < end),
        ">": column >= end,
        ">=": column >= start,
        "<": column < start,
        "<=": column < end,
    }[operator]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
