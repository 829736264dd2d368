"""Searching for card secrets: where a card number or cvc must never be found (logs, database
columns, the PSP's store), and cards no other test uses, so that a trace is a leak."""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from pathlib import Path

from paycore.customer.cards import luhn_valid
from paycore.tools.psp.store import DATABASE_FILE
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def random_card(prefix: str, length: int) -> str:
    """A Luhn-valid number no other test uses, so that any trace of it is this test's leak."""
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


def assert_nowhere(numbers: list[str], cvcs: list[str], texts: list[str], where: str) -> None:
    """Neither a number (whole, or the part that last4 does not show) nor a cvc standing alone:
    not inside an id or a fingerprint (they may hold any digits), nor a decimal number (a
    call's logged duration_ms=123.4 on a loaded machine, an address's 127.0.0.1)."""
    patterns = [re.escape(number[:-4]) for number in numbers]
    patterns += [rf"(?<![0-9A-Za-z])(?<![0-9]\.){cvc}(?![0-9A-Za-z])(?!\.[0-9])" for cvc in cvcs]
    for pattern in patterns:
        found = [value for value in texts if re.search(pattern, value)]
        assert not found, f"a card secret is in {where}"


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts.append(formatter.format(record))
        texts.append(repr(record.args))
        texts.append(record.exc_text or "")
    return texts


async def column_values(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(merchant id or "", value) of every text, bytea, jsonb and text[] column of every
    table; bytea decoded byte for byte (latin-1), so ASCII digits in it are found."""
    values: list[tuple[str, str]] = []
    async with engine.connect() as connection:
        columns = (
            await connection.execute(
                text(
                    "select c.table_name, c.column_name, c.data_type,"
                    " exists(select 1 from information_schema.columns m"
                    "  where m.table_schema = 'public' and m.table_name = c.table_name"
                    "  and m.column_name = 'merchant_id') as has_merchant"
                    " from information_schema.columns c join information_schema.tables t"
                    "  on t.table_schema = c.table_schema and t.table_name = c.table_name"
                    " where c.table_schema = 'public' and t.table_type = 'BASE TABLE'"
                    " and c.data_type in ('text', 'character varying', 'bytea', 'jsonb', 'ARRAY')"
                )
            )
        ).all()
        assert {"payment_methods", "customers", "idempotency_keys"} <= {row[0] for row in columns}
        for table, column, data_type, has_merchant in columns:
            owner = '"merchant_id"' if has_merchant else "''"
            rendered = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
            rows = await connection.execute(
                text(f'select {owner}, {rendered} from "{table}" where "{column}" is not null')
            )
            for merchant_id, value in rows:
                shown = bytes(value).decode("latin-1") if data_type == "bytea" else value
                values.append((merchant_id, shown))
    return values


def psp_store_values(data_dir: Path) -> list[str]:
    """Every text and blob value of every table of the PSP simulator's SQLite store."""
    values: list[str] = []
    with sqlite3.connect(data_dir / DATABASE_FILE) as connection:
        tables = [
            row[0]
            for row in connection.execute("select name from sqlite_master where type = 'table'")
        ]
        for table in tables:
            for row in connection.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value.decode("latin-1"))
                    elif isinstance(value, str):
                        values.append(value)
    return values
