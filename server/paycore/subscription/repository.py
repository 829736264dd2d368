"""Product, price and test-clock rows on a merchant's shard. Every method takes the merchant id
first and filters by it, so no query reaches another merchant's rows; the caller picks the
shard (paycore.storage)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from paycore.storage.reads import Decode, Kind, matching
from paycore.storage.rows import (
    Decoder,
    Encoder,
    empty_when_null,
    epoch_seconds,
    null_when_empty,
    stored_moment,
)
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
from sqlalchemy import Select, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


async def _inserted(
    connection: AsyncConnection, table: Table, values: dict[str, Any], decode: Decode[T]
) -> T:
    """The new row of `table`, as the database wrote it (its defaults included)."""
    row = (await connection.execute(insert(table).values(**values).returning(table))).one()
    return decode(row)


@dataclass(frozen=True, slots=True)
class ProductRepository:
    _connection: AsyncConnection

    async def insert(self, merchant_id: str, product_id: str, new: NewProduct) -> Product:
        values = {**_encode_product.mapping(new), "merchant_id": merchant_id, "id": product_id}
        return await _inserted(self._connection, products, values, decode_product)

    async def get(self, merchant_id: str, product_id: str, *, lock: bool = False) -> Product | None:
        return await PRODUCTS.fetch(self._connection, merchant_id, product_id, lock=lock)

    async def save(self, product: Product) -> None:
        """The product's changeable fields (UpdateProduct's)."""
        t = products
        await self._connection.execute(
            update(t)
            .where(t.c.merchant_id == product.merchant_id, t.c.id == product.id)
            .values(
                name=product.name,
                description=product.description,
                active=product.active,
                metadata=product.metadata,
            )
        )


def products_query(merchant_id: str, active: bool | None) -> Select[Any]:
    return matching(products, merchant_id=merchant_id, active=active)


def prices_query(
    merchant_id: str, product_id: str, active: bool | None, lookup_keys: tuple[str, ...] = ()
) -> Select[Any]:
    """ListPrices' filters: a product's, active or not, those with one of `lookup_keys`."""
    query = matching(prices, merchant_id=merchant_id, product_id=product_id, active=active)
    if lookup_keys:
        query = query.where(prices.c.lookup_key.in_(lookup_keys))
    return query


@dataclass(frozen=True, slots=True)
class PriceRepository:
    _connection: AsyncConnection

    async def insert(self, merchant_id: str, price_id: str, new: NewPrice) -> Price:
        recurring = new.recurring
        values = {
            **_encode_price.mapping(new),
            "merchant_id": merchant_id,
            "id": price_id,
            "recurring_interval": None if recurring is None else recurring.interval.value,
            "recurring_interval_count": None if recurring is None else recurring.interval_count,
        }
        return await _inserted(self._connection, prices, values, decode_price)

    async def get(self, merchant_id: str, price_id: str, *, lock: bool = False) -> Price | None:
        return await PRICES.fetch(self._connection, merchant_id, price_id, lock=lock)

    async def save(self, price: Price) -> None:
        """The price's changeable fields (UpdatePrice's: never its amount or currency)."""
        t = prices
        await self._connection.execute(
            update(t)
            .where(t.c.merchant_id == price.merchant_id, t.c.id == price.id)
            .values(
                active=price.active,
                nickname=price.nickname,
                metadata=price.metadata,
                lookup_key=null_when_empty(price.lookup_key),
            )
        )

    async def with_lookup_key(self, merchant_id: str, lookup_key: str) -> Price | None:
        """The merchant's price holding `lookup_key`, locked."""
        t = prices
        row = (
            await self._connection.execute(
                select(t)
                .where(t.c.merchant_id == merchant_id, t.c.lookup_key == lookup_key)
                .with_for_update()
            )
        ).first()
        return None if row is None else decode_price(row)


@dataclass(frozen=True, slots=True)
class TestClockRepository:
    __test__ = False  # not a pytest test class, despite its name

    _connection: AsyncConnection

    async def insert(self, merchant_id: str, clock_id: str, new: NewTestClock) -> TestClock:
        values = {
            **_encode_test_clock.mapping(new),
            "merchant_id": merchant_id,
            "id": clock_id,
            "status": TestClockStatus.READY.value,
        }
        return await _inserted(self._connection, test_clocks, values, decode_test_clock)

    async def get(self, merchant_id: str, clock_id: str, *, lock: bool = False) -> TestClock | None:
        return await TEST_CLOCKS.fetch(self._connection, merchant_id, clock_id, lock=lock)

    async def held(self, merchant_id: str, clock_id: str) -> TestClock | None:
        """The clock read FOR SHARE: no deletion or advance (FOR UPDATE) changes it until this
        transaction ends, while other holders go on; None for none (or deleted)."""
        query = TEST_CLOCKS.by_id(merchant_id, clock_id).with_for_update(read=True)
        found = await TEST_CLOCKS.objects(
            self._connection, (await self._connection.execute(query)).all()
        )
        return found[0] if found else None

    async def frozen_time(self, merchant_id: str, clock_id: str) -> int | None:
        """The clock's time, deleted or not (a canceled subscription stays on its clock)."""
        found = await self._connection.scalar(
            select(test_clocks.c.frozen_time).where(
                test_clocks.c.merchant_id == merchant_id, test_clocks.c.id == clock_id
            )
        )
        return None if found is None else epoch_seconds(found)

    async def mark_deleted(self, merchant_id: str, clock_id: str) -> TestClock:
        row = (
            await self._connection.execute(
                update(test_clocks)
                .where(test_clocks.c.merchant_id == merchant_id, test_clocks.c.id == clock_id)
                .values(deleted_at=func.now())
                .returning(test_clocks)
            )
        ).one()
        return decode_test_clock(row)

    async def set(
        self, merchant_id: str, clock_id: str, status: TestClockStatus, frozen_time: int
    ) -> TestClock:
        row = (
            await self._connection.execute(
                update(test_clocks)
                .where(test_clocks.c.merchant_id == merchant_id, test_clocks.c.id == clock_id)
                .values(status=status.value, frozen_time=stored_moment(frozen_time))
                .returning(test_clocks)
            )
        ).one()
        return decode_test_clock(row)


def _recurring(row: Mapping[str, Any]) -> Recurring | None:
    """A price row's recurrence (by key: a row's mapping, or a price's columns read from a join,
    paycore.subscription.store)."""
    if row["recurring_interval"] is None:
        return None
    return Recurring(Interval(row["recurring_interval"]), row["recurring_interval_count"])


_AT = {"created": "created_at"}
_encode_product: Encoder[NewProduct] = Encoder(products, NewProduct)
_LOOKUP_KEY_STORED = {"lookup_key": null_when_empty}
_encode_price: Encoder[NewPrice] = Encoder(prices, NewPrice, convert=_LOOKUP_KEY_STORED)
"""A new price's columns but its recurrence (two columns: `PriceRepository.insert`)."""
_encode_test_clock: Encoder[NewTestClock] = Encoder(test_clocks, NewTestClock)
decode_product: Decoder[Product] = Decoder(products, Product, columns=_AT)
decode_price: Decoder[Price] = Decoder(
    prices,
    Price,
    columns=_AT,
    convert={"lookup_key": empty_when_null},
    derive={"recurring": _recurring},
)
decode_test_clock: Decoder[TestClock] = Decoder(test_clocks, TestClock, columns=_AT)
# The read path's kinds (paycore.storage.reads).
PRODUCTS = Kind("product", products, decode_product)
PRICES = Kind("price", prices, decode_price)
TEST_CLOCKS = Kind(
    "test_clock",
    test_clocks,
    decode_test_clock,
    selected=select(test_clocks).where(test_clocks.c.deleted_at.is_(None)),
)
"""A deleted clock is found by nothing but `TestClockRepository.frozen_time`."""
