"""Product, price and test-clock rows on a merchant's shard. Every method takes the merchant id
first and filters by it, so no query reaches another merchant's rows; the caller picks the
shard (paycore.storage)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from paycore.storage.reads import Decode, decoded, encoded, matching
from paycore.storage.schema import prices, products, test_clocks
from paycore.subscription.models import (
    Interval,
    NewPrice,
    NewProduct,
    NewTestClock,
    Price,
    Product,
    Recurring,
    TestClock,
    TestClockStatus,
)
from sqlalchemy import Row, Select, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


async def _inserted(
    connection: AsyncConnection, table: Table, values: dict[str, Any], decode: Decode[T]
) -> T:
    """The new row of `table`, as the database wrote it (its defaults included)."""
    row = (await connection.execute(insert(table).values(**values).returning(table))).one()
    return decode(row)


class ProductRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, product_id: str, new: NewProduct) -> Product:
        values = encoded(products, new, merchant_id=merchant_id, id=product_id)
        return await _inserted(self._connection, products, values, decode_product)

    async def get(self, merchant_id: str, product_id: str) -> Product | None:
        row = (await self._connection.execute(product_query(merchant_id, product_id))).one_or_none()
        return None if row is None else decode_product(row)


def products_query(merchant_id: str, active: bool | None) -> tuple[Select[Any], Any]:
    return matching(products, merchant_id=merchant_id, active=active), products.c.id


def product_query(merchant_id: str, product_id: str) -> Select[Any]:
    return select(products).where(
        products.c.merchant_id == merchant_id, products.c.id == product_id
    )


def prices_query(merchant_id: str, product_id: str, active: bool | None) -> tuple[Select[Any], Any]:
    query = matching(prices, merchant_id=merchant_id, product_id=product_id, active=active)
    return query, prices.c.id


def price_query(merchant_id: str, price_id: str) -> Select[Any]:
    return select(prices).where(prices.c.merchant_id == merchant_id, prices.c.id == price_id)


class PriceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, price_id: str, new: NewPrice) -> Price:
        recurring = new.recurring
        values = encoded(
            prices,
            new,
            merchant_id=merchant_id,
            id=price_id,
            recurring_interval=None if recurring is None else recurring.interval.value,
            recurring_interval_count=None if recurring is None else recurring.interval_count,
        )
        return await _inserted(self._connection, prices, values, decode_price)

    async def get(self, merchant_id: str, price_id: str) -> Price | None:
        row = (await self._connection.execute(price_query(merchant_id, price_id))).one_or_none()
        return None if row is None else decode_price(row)


class TestClockRepository:
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, clock_id: str, new: NewTestClock) -> TestClock:
        values = encoded(
            test_clocks,
            new,
            merchant_id=merchant_id,
            id=clock_id,
            frozen_time=datetime.fromtimestamp(new.frozen_time, UTC),
            status=TestClockStatus.READY.value,
        )
        return await _inserted(self._connection, test_clocks, values, _test_clock)

    async def get(self, merchant_id: str, clock_id: str, *, lock: bool = False) -> TestClock | None:
        query = select(test_clocks).where(
            test_clocks.c.merchant_id == merchant_id, test_clocks.c.id == clock_id
        )
        if lock:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else _test_clock(row)

    async def set(
        self, merchant_id: str, clock_id: str, status: TestClockStatus, frozen_time: int
    ) -> TestClock:
        row = (
            await self._connection.execute(
                update(test_clocks)
                .where(test_clocks.c.merchant_id == merchant_id, test_clocks.c.id == clock_id)
                .values(status=status.value, frozen_time=datetime.fromtimestamp(frozen_time, UTC))
                .returning(test_clocks)
            )
        ).one()
        return _test_clock(row)


def decode_product(row: Row[Any]) -> Product:
    return decoded(Product, row, created=int(row.created_at.timestamp()))


def decode_price(row: Row[Any]) -> Price:
    recurring = None
    if row.recurring_interval is not None:
        recurring = Recurring(Interval(row.recurring_interval), row.recurring_interval_count)
    return decoded(Price, row, recurring=recurring, created=int(row.created_at.timestamp()))


def _test_clock(row: Row[Any]) -> TestClock:
    return decoded(
        TestClock,
        row,
        frozen_time=int(row.frozen_time.timestamp()),
        created=int(row.created_at.timestamp()),
    )
