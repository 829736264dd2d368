"""Row <-> dataclass codecs derived from a schema table and the dataclass's fields: a field maps
to the column of the same name (or the one `columns` names), so a column is spelt in the schema
and a field in the model, and nowhere else. Built at import: a field with no column raises then.

    decode_intent = Decoder(payment_intents, Intent, columns={"created": "created_at"},
                            convert={"status": IntentStatus, "created": epoch_seconds})
    intent = decode_intent(record)          # an asyncpg record or a Core row's _mapping
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

T = TypeVar("T")
Convert = Callable[[Any], Any]


def epoch_seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


class _Codec(Generic[T]):
    """What both directions share: each field of `model` but those in `skip` or `derive`, its
    column (the same name, or the one `columns` names) and its converter (None: stored as it
    is). A field in `derive` is decoded from the whole row and never written."""

    def __init__(
        self,
        table: Table,
        model: type[T],
        *,
        columns: Mapping[str, str] | None = None,
        convert: Mapping[str, Convert] | None = None,
        derive: Mapping[str, Convert] | None = None,
        skip: Sequence[str] = (),
    ) -> None:
        renamed = dict(columns or {})
        converters = dict(convert or {})
        self._model = model
        self._derived = dict(derive or {})
        self._fields: list[tuple[str, str, Convert | None]] = [
            (field.name, renamed.get(field.name, field.name), converters.get(field.name))
            for field in fields(model)  # type: ignore[arg-type]
            if field.name not in skip and field.name not in self._derived
        ]
        self._check(table, set(converters))

    def _check(self, table: Table, converted: set[str]) -> None:
        raise NotImplementedError


class Decoder(_Codec[T]):
    """A row of `table` as a `model`: every field from its column (`columns` renames),
    through `convert` where the stored form differs; a field in `derive` from the whole row
    (a nested dataclass, a value of several columns); fields in `skip` keep their default."""

    def _check(self, table: Table, converted: set[str]) -> None:
        for _, column, _ in self._fields:
            if column not in table.c:
                raise LookupError(f"{table.name} has no column {column} for {self._model.__name__}")

    def __call__(self, row: Any) -> T:
        row = getattr(row, "_mapping", row)  # a Core row; an asyncpg record reads by name
        values = {
            name: row[column] if convert is None else convert(row[column])
            for name, column, convert in self._fields
        }
        values.update((name, derive(row)) for name, derive in self._derived.items())
        return self._model(**values)


class Encoder(_Codec[T]):
    """A `model` as the values of its table's columns: every field that has a column (the
    same name, or the one `columns` names), in field order, through `convert` where the
    stored form differs. `self.columns` names them, for the statement that writes them."""

    def _check(self, table: Table, converted: set[str]) -> None:
        self._fields = [field for field in self._fields if field[1] in table.c]
        self.columns: list[str] = [column for _, column, _ in self._fields]
        unused = converted - {name for name, _, _ in self._fields}
        if unused:
            raise LookupError(f"{table.name} has no column for {sorted(unused)}")

    def __call__(self, value: T) -> list[Any]:
        return [
            getattr(value, name) if convert is None else convert(getattr(value, name))
            for name, _, convert in self._fields
        ]

    def mapping(self, value: T) -> dict[str, Any]:
        """The same values by column name (for a SQLAlchemy `insert(...).values(...)`)."""
        return dict(zip(self.columns, self(value), strict=True))
