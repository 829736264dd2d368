"""Raw asyncpg statements (paycore.storage.raw) built from the `storage/schema.py` tables, so a
column is named once: a misspelt or missing column raises when the module that builds the
statement is imported, not when a payment first runs it.

    intent = Insert(payment_intents, ["merchant_id", "id", "amount"])  # $1, $2, $3
    intent.sql                   # INSERT INTO payment_intents (merchant_id, id, amount) VALUES ...
    intent.cte("intent")         # intent AS (INSERT ...), a part of a composed statement

A table's owner builds the statements and CTE parts for its own table (the executor its
executions, events the outbox); a statement that writes several tables composes their parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Table


def column_names(table: Table, names: Sequence[str]) -> list[str]:
    """`names`, each checked to be a column of `table`."""
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise LookupError(f"{table.name} has no column {', '.join(unknown)}")
    return list(names)


def all_columns(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def select_list(table: Table, alias: str = "") -> str:
    """Every column of `table`, spelt out (`alias.` before each when given)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{name}" for name in all_columns(table))


@dataclass(frozen=True)
class Insert:
    """`INSERT INTO table (columns) VALUES (...)`: the columns take parameters $start, $start+1,
    ... in order. A column `expressions` names takes that SQL expression instead: one holding
    `{}` takes the next parameter there (`now() + {}::float8 * interval '1 second'`), one
    without (`now()`, `1`) takes none."""

    table: Table
    columns: Sequence[str]
    start: int = 1
    expressions: Mapping[str, str] | None = None
    returning: str = ""

    def __post_init__(self) -> None:
        column_names(self.table, [*self.columns, *(self.expressions or {})])

    @property
    def values(self) -> list[str]:
        own = dict(self.expressions or {})
        found: list[str] = []
        number = self.start
        for name in self.columns:
            expression = own.get(name, "{}")
            if "{}" in expression:
                found.append(expression.format(f"${number}"))
                number += 1
            else:
                found.append(expression)
        return found

    @property
    def next(self) -> int:
        """The first parameter number after this statement's own."""
        own = self.expressions or {}
        return self.start + sum(1 for name in self.columns if "{}" in own.get(name, "{}"))

    @property
    def sql(self) -> str:
        names = ", ".join(self.columns)
        returning = f" RETURNING {self.returning}" if self.returning else ""
        return (
            f"INSERT INTO {self.table.name} ({names}) VALUES ({', '.join(self.values)}){returning}"
        )

    def cte(self, name: str) -> str:
        """The statement as one part of a WITH: `name AS (INSERT ...)`."""
        return f"{name} AS (\n  {self.sql}\n)"


def with_parts(parts: Sequence[str], final: str) -> str:
    """`WITH part, part, ... final`: one statement of several CTE parts."""
    return "WITH " + ",\n".join(parts) + "\n" + final


def assignments(table: Table, columns: Sequence[str], start: int) -> str:
    """`a = $start, b = $start+1, ...` for an UPDATE's SET, each column checked."""
    names = column_names(table, columns)
    return ", ".join(f"{name} = ${number}" for number, name in enumerate(names, start))
