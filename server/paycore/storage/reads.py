"""The one read path: every Get and List of every service goes through `Reads`.

A repository declares each kind of object it stores once (`Kind`: its name, table and row
decoder) and builds a List's query (filtered by the merchant first); `Reads` opens an autocommit
reader on the merchant's shard, turns "no row" into NOT_FOUND, and pages lists in Stripe's order
(newest first, `starting_after` the last id of the previous page, one row more than `limit` to
tell `has_more`; `ending_before` the first id of the next page, whose rows are read oldest first
from it and handed back newest first). Ids sort by creation time, so the id is the cursor.

    PAYOUTS = Kind("payout", payouts, decode_payout)                  # the repository
    payout = await reads.one(merchant_id, PAYOUTS, payout_id)         # the domain
    page = await reads.page(merchant_id, PAYOUTS, cursor, payouts_query(merchant_id, wanted))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from paycore.errors import invalid, not_found
from paycore.ranges import ALL_SECONDS, SecondsRange, moment
from paycore.storage.shards import Shards
from sqlalchemy import ColumnElement, Integer, Row, Select, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
Decode = Callable[[Row[Any]], T]
Complete = Callable[[AsyncConnection, list[T]], Awaitable[list[T]]]
"""Objects decoded from their own rows, with the rows they own added (a subscription's items,
an invoice's lines), read on the same connection."""


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool


@dataclass(frozen=True)
class Cursor:
    """Where a list page starts: at most `limit` objects older than `starting_after` ("" for
    the newest), or, with `ending_before` (never both), the `limit` objects just newer than it
    (`has_more`: newer ones remain), still newest first; of those created in `created`."""

    limit: int
    starting_after: str = ""
    ending_before: str = ""
    created: SecondsRange = ALL_SECONDS
    """Only the objects created in this range (Stripe's `created[gte]`...), every List's."""


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """A kind of object the merchants store, as the read path reads it: what NOT_FOUND calls it,
    its table (keyed by merchant id and id), the decoder of its rows; where it reads other
    columns than the table's (a join, or all but a sealed secret), the select they come from;
    where its objects own rows of other tables, how they are added (`complete`)."""

    name: str
    table: Table
    decode: Decode[T]
    selected: Select[Any] | None = None
    complete: Complete[T] | None = None

    def of(self, merchant_id: str) -> Select[Any]:
        """The merchant's objects of the kind: a List's query starts here."""
        query = select(self.table) if self.selected is None else self.selected
        return query.where(self.table.c.merchant_id == merchant_id)

    def by_id(self, merchant_id: str, object_id: str) -> Select[Any]:
        return self.of(merchant_id).where(self.table.c.id == object_id)

    async def objects(self, connection: AsyncConnection, rows: Sequence[Row[Any]]) -> list[T]:
        """The objects of rows of the kind, complete."""
        found = [self.decode(row) for row in rows]
        if self.complete is None or not found:
            return found
        return await self.complete(connection, found)

    async def exists(self, connection: AsyncConnection, merchant_id: str, object_id: str) -> bool:
        """Whether the merchant has the object of that id (as `fetch` would find it)."""
        query = self.by_id(merchant_id, object_id).limit(1)
        return (await connection.execute(query)).first() is not None

    async def fetch(
        self, connection: AsyncConnection, merchant_id: str, object_id: str, *, lock: bool = False
    ) -> T | None:
        """A repository's `get`: the merchant's object of that id, or None; `lock` reads it
        FOR UPDATE (the caller's transaction then holds it)."""
        query = self.by_id(merchant_id, object_id)
        rows = (await connection.execute(query.with_for_update() if lock else query)).all()
        found = await self.objects(connection, rows)
        return found[0] if found else None

    async def require(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        object_id: str,
        param: str = "id",
        *,
        lock: bool = False,
    ) -> T:
        """`fetch`, or NOT_FOUND naming `param` when the merchant has no object of that id."""
        found = await self.fetch(connection, merchant_id, object_id, lock=lock)
        if found is None:
            raise not_found(self.name, object_id, param)
        return found

    async def page(
        self, connection: AsyncConnection, query: Select[Any], cursor: Cursor
    ) -> Page[T]:
        """A page of the objects `query` (from `of`) selects."""
        rows = (await connection.execute(newest_first(query, self.table, cursor))).all()
        found = page_of(rows, cursor)
        return Page(await self.objects(connection, found.data), found.has_more)


@dataclass(frozen=True, slots=True)
class Named:
    """A List's filter that names an object (`GET /v1/invoices?customer=cus_...`): the page is
    read only when the merchant has it, else RESOURCE_MISSING naming `param` (a field other
    than the call's target: INVALID_ARGUMENT, HTTP 400 `resource_missing`, as Stripe answers);
    "" names nothing (the filter left out)."""

    param: str
    kind: Kind[Any]
    object_id: str

    async def check(self, connection: AsyncConnection, merchant_id: str) -> None:
        if self.object_id and not await self.kind.exists(connection, merchant_id, self.object_id):
            raise not_found(self.kind.name, self.object_id, self.param)


def matching(table: Table, *filters: Any, **wanted: Any) -> Select[Any]:
    """`select(table)` of the rows whose columns equal the values given by column name, in
    `wanted` and in the fields of the dataclasses `filters` (an Enum by its value); a value
    None or "" filters nothing (a List's optional filter left out), so a column where "" is a
    value to match (pay-out's account: the merchant's own) takes its own `.where`."""
    values = {name: value for found in filters for name, value in vars(found).items()}
    query = select(table)
    for name, value in {**values, **wanted}.items():
        if isinstance(value, Enum):
            value = value.value
        if value is not None and value != "":
            query = query.where(table.c[name] == value)
    return query


def within(column: ColumnElement[Any], seconds: SecondsRange) -> list[ColumnElement[bool]]:
    """The conditions that a timestamp `column` is in `seconds` (an object's `created` is its
    `created_at` in whole seconds, so [start, end) in seconds is [start, end) in time), or a
    column of unix seconds (an integer `created`): plain comparisons with constants, which an
    index on the column serves."""
    in_seconds = isinstance(column.type, Integer)
    conditions = []
    if seconds.start is not None:
        conditions.append(column >= (seconds.start if in_seconds else moment(seconds.start)))
    if seconds.end is not None:
        conditions.append(column < (seconds.end if in_seconds else moment(seconds.end)))
    return conditions


def created_column(table: Table) -> ColumnElement[Any]:
    """The column an object's rendered `created` is read from: its unix seconds `created` where
    it has one (billing's objects, on a test clock its frozen time; webhook endpoints), else its
    `created_at`. Not `created_at` beside a `created`: the two are taken by different clocks (the
    server's and the database's), a second apart at a second's edge."""
    return table.c.created if "created" in table.c else table.c.created_at


def newest_first(query: Select[Any], table: Table, cursor: Cursor) -> Select[Any]:
    """`query` (of `table`'s objects) in the cursor's range of `created`, limited to the page's
    `limit + 1` rows: newest first after `starting_after`, or oldest first from `ending_before`
    (`page_of` turns them round)."""
    id_column = table.c.id
    query = query.where(*within(created_column(table), cursor.created))
    if cursor.ending_before:
        query = query.where(id_column > cursor.ending_before)
        return query.order_by(id_column.asc()).limit(cursor.limit + 1)
    if cursor.starting_after:
        query = query.where(id_column < cursor.starting_after)
    return query.order_by(id_column.desc()).limit(cursor.limit + 1)


def page_of(rows: Sequence[T], cursor: Cursor) -> Page[T]:
    """The page and whether more follow, from the limit + 1 rows a list query fetched in the
    order `newest_first` gave them: an `ending_before` page's, oldest first, turned round."""
    kept = list(rows[: cursor.limit])
    if cursor.ending_before:
        kept.reverse()
    return Page(kept, len(rows) > cursor.limit)


def merged_page(found: Iterable[T], cursor: Cursor, key: Callable[[T], str]) -> Page[T]:
    """The page of the rows several shards gave for one `newest_first` query (`key` their id):
    put in the query's order, then `page_of`."""
    return page_of(sorted(found, key=key, reverse=not cursor.ending_before), cursor)


def page_after(parts: Sequence[T], ids: Sequence[str], cursor: Cursor, owner: str) -> Page[T]:
    """A page of an object's `parts` (a subscription's items, an invoice's or a checkout
    session's lines: `ids` theirs), kept in the object's order, from the one after
    `cursor.starting_after`, or the `limit` just before `cursor.ending_before` (`has_more`:
    earlier ones remain); the cursor one of them, else INVALID_ARGUMENT naming it."""
    if cursor.ending_before:
        end = _position(ids, "ending_before", cursor.ending_before, owner)
        start = max(0, end - cursor.limit)
        return Page(list(parts[start:end]), start > 0)
    start = 0
    if cursor.starting_after:
        start = _position(ids, "starting_after", cursor.starting_after, owner) + 1
    return page_of(parts[start : start + cursor.limit + 1], cursor)


def _position(ids: Sequence[str], param: str, cursor_id: str, owner: str) -> int:
    if cursor_id not in ids:
        raise invalid(param, f"is not one of this {owner}'s")
    return list(ids).index(cursor_id)


async def fetch_page(
    connection: AsyncConnection, query: Select[Any], table: Table, cursor: Cursor, decode: Decode[T]
) -> Page[T]:
    rows = (await connection.execute(newest_first(query, table, cursor))).all()
    found = page_of(rows, cursor)
    return Page([decode(row) for row in found.data], found.has_more)


async def fetch_one(
    connection: AsyncConnection,
    query: Select[Any],
    decode: Decode[T],
    object_name: str,
    object_id: str,
    param: str = "id",
) -> T:
    """`Reads.one` on a connection you already hold (e.g. a shard chosen by an id alone)."""
    row = (await connection.execute(query)).first()
    if row is None:
        raise not_found(object_name, object_id, param)
    return decode(row)


async def fetch_optional(
    connection: AsyncConnection, query: Select[Any], decode: Decode[T], *, lock: bool = False
) -> T | None:
    """A repository's `get`: the one row `query` finds, decoded, or None; `lock` reads it
    FOR UPDATE (the caller's transaction then holds it)."""
    row = (await connection.execute(query.with_for_update() if lock else query)).one_or_none()
    return None if row is None else decode(row)


@dataclass(frozen=True, slots=True)
class Reads:
    _shards: Shards

    def _reading(self, owner: str, logical_shard: int | None) -> AbstractAsyncContextManager[Any]:
        """A read connection on the owner's shard: a merchant's (by its id), or the logical
        shard given, for an owner that is no merchant (the platform's events)."""
        if logical_shard is None:
            return self._shards.read(owner)
        return self._shards.read_logical(logical_shard)

    async def one(
        self,
        merchant_id: str,
        kind: Kind[T],
        object_id: str,
        param: str = "id",
        *,
        logical_shard: int | None = None,
    ) -> T:
        """The merchant's object of `kind` with id `object_id`, or NOT_FOUND naming `param`
        (`logical_shard`: where an owner that is no merchant keeps it)."""
        async with self._reading(merchant_id, logical_shard) as connection:
            return await kind.require(connection, merchant_id, object_id, param)

    async def page(
        self,
        merchant_id: str,
        kind: Kind[T],
        cursor: Cursor,
        query: Select[Any] | None = None,
        named: Sequence[Named] = (),
        *,
        logical_shard: int | None = None,
    ) -> Page[T]:
        """A page of the merchant's objects of `kind`: those `query` (a List's filters on
        `kind.of(merchant_id)`) selects, or all of them; first, each object a filter `named`
        must exist (RESOURCE_MISSING naming its param). `logical_shard` as `one`'s."""
        async with self._reading(merchant_id, logical_shard) as connection:
            for each in named:
                await each.check(connection, merchant_id)
            listed = kind.of(merchant_id) if query is None else query
            return await kind.page(connection, listed, cursor)

    async def find(
        self,
        merchant_id: str,
        lookup: Callable[[AsyncConnection], Awaitable[T | None]],
        object_name: str,
        object_id: str,
        param: str = "id",
    ) -> T:
        """`one` for what is not an object of a `Kind` (a merchant, an exchange rate):
        `lookup` runs on the merchant's shard; None is NOT_FOUND naming `param`."""
        async with self._shards.read(merchant_id) as connection:
            found = await lookup(connection)
        if found is None:
            raise not_found(object_name, object_id, param)
        return found


C = TypeVar("C")


async def children_of(
    connection: AsyncConnection,
    query: Select[Any],
    table: Table,
    parent: str,
    parent_ids: Iterable[str],
    decode: Callable[[Row[Any]], C],
) -> dict[str, list[C]]:
    """The children of a page's objects in one statement: the rows of `query` (over `table`)
    whose `parent` column names one of `parent_ids`, newest first, decoded and grouped by it."""
    rows = await connection.execute(
        query.where(table.c[parent].in_(sorted(set(parent_ids)))).order_by(table.c.id.desc())
    )
    grouped: dict[str, list[C]] = {}
    for row in rows:
        grouped.setdefault(row._mapping[parent], []).append(decode(row))
    return grouped
