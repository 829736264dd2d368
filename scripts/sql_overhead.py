"""Client CPU per statement: the same UPDATE through SQLAlchemy Core and through asyncpg
directly, on a temporary table (docs/benchmarks.md, "Payments benchmark").

    python scripts/sql_overhead.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from paycore.ledger.repository import driver_of
from paycore.storage.shards import asyncpg_url
from sqlalchemy import Column, DateTime, MetaData, Table, Text, func, update
from sqlalchemy.ext.asyncio import create_async_engine

STATEMENTS = 3000
scratch = Table(
    "sql_overhead",
    MetaData(),
    Column("merchant_id", Text),
    Column("id", Text),
    Column("state", Text),
    Column("updated_at", DateTime(timezone=True)),
)


async def measure(url: str) -> tuple[float, float]:
    engine = create_async_engine(asyncpg_url(url))
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(
                "CREATE TEMP TABLE sql_overhead (merchant_id text, id text, state text,"
                " updated_at timestamptz, PRIMARY KEY (merchant_id, id))"
            )
            await connection.exec_driver_sql(
                "INSERT INTO sql_overhead VALUES ('m', 'x', 'queued', now())"
            )
            started = time.process_time()
            for _ in range(STATEMENTS):
                await connection.execute(
                    update(scratch)
                    .where(scratch.c.merchant_id == "m", scratch.c.id == "x")
                    .values(state="running", updated_at=func.now())
                )
            core = (time.process_time() - started) / STATEMENTS
            driver = await driver_of(connection)
            started = time.process_time()
            for _ in range(STATEMENTS):
                await driver.execute(
                    "UPDATE sql_overhead SET state = $1, updated_at = now()"
                    " WHERE merchant_id = $2 AND id = $3",
                    "running",
                    "m",
                    "x",
                )
            raw = (time.process_time() - started) / STATEMENTS
    finally:
        await engine.dispose()
    return core, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    core, raw = asyncio.run(measure(arguments.database_url))
    print(f"SQLAlchemy Core: {core * 1e6:.0f} us of client CPU per UPDATE")
    print(f"asyncpg directly: {raw * 1e6:.0f} us of client CPU per UPDATE")


if __name__ == "__main__":
    main()
