"""Currencies' rows: exchange rates (platform data on every shard), settlement currencies and the
rounding carries (a merchant's, merchant id first). asyncpg text built from the schema's
columns: conversions read them inside pay-in's hot transactions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from asyncpg import Record
from paycore.currency.models import ExchangeRate, Quote, Settlement
from paycore.invariants import invariant
from paycore.storage.raw import driver_of
from paycore.storage.schema import exchange_rates, fx_rounding_carries, settlement_currencies
from sqlalchemy.ext.asyncio import AsyncConnection

er = exchange_rates
sc = settlement_currencies
fc = fx_rounding_carries
_RATE_COLUMNS = ", ".join(
    column.name for column in (er.c.base, er.c.quote, er.c.rate, er.c.source, er.c.valid_from)
)

_LATEST = f"""
SELECT {_RATE_COLUMNS}, {er.c.valid_to.name} FROM {er.name}
WHERE {er.c.base.name} = $1 AND {er.c.quote.name} = $2 AND {er.c.valid_from.name} <= $3
ORDER BY {er.c.valid_from.name} DESC, {er.c.source.name} LIMIT 1
"""
_LATEST_PAIRS = f"""
SELECT DISTINCT ON ({er.c.base.name}, {er.c.quote.name}) {_RATE_COLUMNS}, {er.c.valid_to.name}
FROM {er.name}
WHERE ($1 = '' OR {er.c.base.name} = $1) AND {er.c.valid_from.name} <= $2
  AND ({er.c.base.name}, {er.c.quote.name}) > ($3, $4)
ORDER BY {er.c.base.name}, {er.c.quote.name}, {er.c.valid_from.name} DESC
LIMIT $5
"""
# The same, the pairs just before ($3, $4), last first (a page's `ending_before`).
_LATEST_PAIRS_BEFORE = f"""
SELECT DISTINCT ON ({er.c.base.name}, {er.c.quote.name}) {_RATE_COLUMNS}, {er.c.valid_to.name}
FROM {er.name}
WHERE ($1 = '' OR {er.c.base.name} = $1) AND {er.c.valid_from.name} <= $2
  AND ({er.c.base.name}, {er.c.quote.name}) < ($3, $4)
ORDER BY {er.c.base.name} DESC, {er.c.quote.name} DESC, {er.c.valid_from.name} DESC
LIMIT $5
"""
# New rates of one source; the pair's previous open rate of that source closes where it starts.
_INSERT_RATES = f"""
WITH new AS (
  INSERT INTO {er.name} ({er.c.base.name}, {er.c.quote.name}, {er.c.source.name},
                         {er.c.valid_from.name}, {er.c.rate.name})
  SELECT u.base, u.quote, $5, u.valid_from, u.rate
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::numeric[])
    AS u(base, quote, valid_from, rate)
  ON CONFLICT DO NOTHING
  RETURNING {er.c.base.name}, {er.c.quote.name}, {er.c.valid_from.name}
)
UPDATE {er.name} e SET {er.c.valid_to.name} = new.valid_from
FROM new
WHERE e.base = new.base AND e.quote = new.quote AND e.source = $5
  AND e.valid_from < new.valid_from AND e.valid_to IS NULL
RETURNING new.base
"""
_COUNT_NEW = f"""
SELECT count(*) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(base, quote, valid_from)
WHERE NOT EXISTS (
  SELECT 1 FROM {er.name} e WHERE e.base = u.base AND e.quote = u.quote AND e.source = $4
    AND e.valid_from = u.valid_from)
"""
_SETTLEMENT = f"""
SELECT {sc.c.currencies.name} FROM {sc.name}
WHERE {sc.c.merchant_id.name} = $1 AND {sc.c.account.name} = $2
"""
_SAVE_SETTLEMENT = f"""
INSERT INTO {sc.name} ({sc.c.merchant_id.name}, {sc.c.account.name}, {sc.c.currencies.name})
VALUES ($1, $2, $3)
ON CONFLICT ({sc.c.merchant_id.name}, {sc.c.account.name})
DO UPDATE SET {sc.c.currencies.name} = excluded.{sc.c.currencies.name}
"""
_LOCK_CARRY = f"""
INSERT INTO {fc.name} ({fc.c.merchant_id.name}, {fc.c.currency.name}, {fc.c.carry.name})
VALUES ($1, $2, 0)
ON CONFLICT ({fc.c.merchant_id.name}, {fc.c.currency.name})
DO UPDATE SET {fc.c.carry.name} = {fc.name}.{fc.c.carry.name}
RETURNING {fc.c.carry.name}
"""
_SAVE_CARRY = f"""
UPDATE {fc.name} SET {fc.c.carry.name} = $3
WHERE {fc.c.merchant_id.name} = $1 AND {fc.c.currency.name} = $2
"""
_CARRY = f"""
SELECT {fc.c.carry.name} FROM {fc.name}
WHERE {fc.c.merchant_id.name} = $1 AND {fc.c.currency.name} = $2
"""


def _rate_of(row: Record) -> ExchangeRate:
    valid_to = row["valid_to"]
    return ExchangeRate(
        row["base"],
        row["quote"],
        Decimal(row["rate"]),
        row["source"],
        int(row["valid_from"]),
        None if valid_to is None else int(valid_to),
    )


async def latest_rate(
    connection: AsyncConnection, base: str, quote: str, now: int
) -> ExchangeRate | None:
    """The newest rate of the pair that had started by `now` (any source)."""
    driver = await driver_of(connection)
    row = await driver.fetchrow(_LATEST, base, quote, now)
    return None if row is None else _rate_of(row)


async def latest_rates(
    connection: AsyncConnection, base: str, now: int, after: tuple[str, str], limit: int
) -> list[ExchangeRate]:
    """The newest rate of every pair (of `base`, or of every base when "") after the pair
    `after` (("", "") from the first), by base and quote, at most `limit`."""
    driver = await driver_of(connection)
    rows = await driver.fetch(_LATEST_PAIRS, base, now, *after, limit)
    return [_rate_of(row) for row in rows]


async def latest_rates_before(
    connection: AsyncConnection, base: str, now: int, before: tuple[str, str], limit: int
) -> list[ExchangeRate]:
    """`latest_rates` of the pairs before the pair `before`, the last first, at most `limit`."""
    driver = await driver_of(connection)
    rows = await driver.fetch(_LATEST_PAIRS_BEFORE, base, now, *before, limit)
    return [_rate_of(row) for row in rows]


async def insert_rates(connection: AsyncConnection, source: str, quotes: Sequence[Quote]) -> int:
    """Stores the quotes not yet stored (a quote is keyed by pair, source and valid_from);
    returns how many were new."""
    driver = await driver_of(connection)
    columns = (
        [quote.base for quote in quotes],
        [quote.quote for quote in quotes],
        [quote.valid_from for quote in quotes],
    )
    new = int(await driver.fetchval(_COUNT_NEW, *columns, source))
    if new:
        await driver.execute(_INSERT_RATES, *columns, [quote.rate for quote in quotes], source)
    return new


async def settlement(connection: AsyncConnection, merchant_id: str, account: str) -> Settlement:
    driver = await driver_of(connection)
    found = await driver.fetchval(_SETTLEMENT, merchant_id, account)
    return Settlement(account, tuple(found or ()))


async def save_settlement(
    connection: AsyncConnection, merchant_id: str, settlement: Settlement
) -> None:
    driver = await driver_of(connection)
    await driver.execute(
        _SAVE_SETTLEMENT, merchant_id, settlement.account, list(settlement.currencies)
    )


async def locked_carry(connection: AsyncConnection, merchant_id: str, currency: str) -> Fraction:
    """The merchant's rounding carry in `currency`, its row locked until the commit."""
    driver = await driver_of(connection)
    return Fraction(await driver.fetchval(_LOCK_CARRY, merchant_id, currency))


async def save_carry(
    connection: AsyncConnection, merchant_id: str, currency: str, carry: Fraction
) -> None:
    driver = await driver_of(connection)
    await driver.execute(_SAVE_CARRY, merchant_id, currency, decimal_of(carry))


async def carry_of(connection: AsyncConnection, merchant_id: str, currency: str) -> Fraction:
    driver = await driver_of(connection)
    found = await driver.fetchval(_CARRY, merchant_id, currency)
    return Fraction(found) if found is not None else Fraction(0)


def decimal_of(value: Fraction) -> Decimal:
    """`value` as an exact Decimal: conversions only ever divide by powers of ten, so every
    carry has a finite decimal expansion."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    invariant(denominator == 1, f"a carry without a finite decimal expansion: {value}")
    places = max(twos, fives)
    scaled = value * 10**places
    invariant(scaled.denominator == 1, f"{value} is not exact at {places} places")
    return Decimal(scaled.numerator).scaleb(-places)
