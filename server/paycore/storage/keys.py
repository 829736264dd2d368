"""The predicate that picks one of a merchant's rows: every table's key starts with
merchant_id (the shard key), so a row is found by the merchant and its id together, never by
the id alone (which could name another merchant's row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, and_


def merchant_row(table: Table, merchant_id: Any, object_id: Any) -> ColumnElement[bool]:
    """`table.merchant_id = merchant_id AND table.id = object_id` (values or SQL expressions)."""
    return and_(table.c.merchant_id == merchant_id, table.c.id == object_id)
