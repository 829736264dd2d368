"""Stripe's list order, in one place: newest first, `starting_after` is the last id of the
previous page, and a page asks for one row more than `limit` to tell whether there is more.
Ids sort by creation time, so the id is the cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select

T = TypeVar("T")


def newest_first(
    query: Select[Any], id_column: Any, limit: int, starting_after: str
) -> Select[Any]:
    if starting_after:
        query = query.where(id_column < starting_after)
    return query.order_by(id_column.desc()).limit(limit + 1)


def page(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """The page and whether more follow, from the limit + 1 rows a list query fetched."""
    return list(rows[:limit]), len(rows) > limit
