"""Row <-> dataclass codecs derived from a schema table and the dataclass's fields: a field maps
to the column of the same name (or the one `columns` names), so a column is spelt in the schema
and a field in the model, and nowhere else. Built at import: a field with no column raises then.
A field's converter is inferred from its annotation (an Enum from and to its value, a tuple from
and to the driver's list, an int, bool or dict as such; None stays None) and, for an int field
of a timestamp column, from the column (unix seconds: `epoch_seconds`, `stored_moment`), unless
`convert` names one (a stored form neither tells, like a JSON column read as a dataclass).

    decode_intent = Decoder(payment_intents, Intent, columns={"created": "created_at"})
    intent = decode_intent(record)          # an asyncpg record or a Core row's _mapping
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import Column, DateTime, Table

T = TypeVar("T")
Convert = Callable[[Any], Any]


def epoch_seconds(moment: datetime | None) -> int | None:
    """A timestamp column's value as a model holds it: whole unix seconds."""
    return None if moment is None else int(moment.timestamp())


def epoch_seconds_or_zero(moment: datetime | None) -> int:
    """`epoch_seconds` of a model that says "not yet" with 0 (a review not closed, a delivery
    not attempted) where the column is null."""
    return 0 if moment is None else int(moment.timestamp())


def stored_moment(seconds: int | None) -> datetime | None:
    """`epoch_seconds` the other way: a model's unix seconds as its timestamp column stores
    them (UTC)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def null_when_empty(value: str) -> str | None:
    """A text field whose "" means none, as stored: NULL (a unique index skips it)."""
    return value or None


def empty_when_null(value: str | None) -> str:
    """That field read back: "" for NULL."""
    return value or ""


def _stored_type(hint: Any) -> type | None:
    """The type whose stored form differs from the driver's value (an Enum, a tuple read as a
    list, an int, bool or dict taken as such) that the annotation `hint` names, or None."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    origin = get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, (Enum, dict, tuple, bool, int)):
        return origin
    return None


def _unix_seconds(hint: Any, column: Column[Any]) -> bool:
    """Whether a field annotated `hint` holds unix seconds of the timestamp `column`."""
    return _stored_type(hint) is int and isinstance(column.type, DateTime)


def _unless_none(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


class _Codec(Generic[T]):
    """What both directions share: each field of `model` but those in `skip` or `derive`, its
    column (the same name, or the one `columns` names) and its converter (`convert`'s, else
    inferred from the field's annotation by `_infer`; None: stored as it is). A field in
    `derive` is decoded from the whole row and never written."""

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
        given = dict(convert or {})
        hints = get_type_hints(model)
        converters = {name: self._inferred(hint) for name, hint in hints.items()}
        for name, hint in hints.items():
            column = table.c.get(renamed.get(name, name))
            if column is not None and _unix_seconds(hint, column):
                converters[name] = self._seconds_converter()
        converters |= given
        self._model = model
        self._derived = dict(derive or {})
        self._fields: list[tuple[str, str, Convert | None]] = [
            (field.name, renamed.get(field.name, field.name), converters[field.name])
            for field in fields(model)  # type: ignore[arg-type]
            if field.name not in skip and field.name not in self._derived
        ]
        self._check(table, set(given))

    def _inferred(self, hint: Any) -> Convert | None:
        kind = _stored_type(hint)
        return None if kind is None else self._infer(kind)

    def _infer(self, kind: type) -> Convert | None:
        raise NotImplementedError

    def _seconds_converter(self) -> Convert:
        """How an int field (unix seconds) of a timestamp column is converted."""
        raise NotImplementedError

    def _check(self, table: Table, converted: set[str]) -> None:
        raise NotImplementedError


class Decoder(_Codec[T]):
    """A row of `table` as a `model`: every field from its column (`columns` renames),
    through `convert` where the stored form differs; a field in `derive` from the whole row
    (a nested dataclass, a value of several columns); fields in `skip` keep their default."""

    def _infer(self, kind: type) -> Convert | None:
        return _unless_none(kind)

    def _seconds_converter(self) -> Convert:
        return epoch_seconds

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

    def _infer(self, kind: type) -> Convert | None:
        if issubclass(kind, Enum):
            return _unless_none(lambda member: member.value)
        if issubclass(kind, tuple):
            return _unless_none(list)
        return None

    def _seconds_converter(self) -> Convert:
        return stored_moment

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
