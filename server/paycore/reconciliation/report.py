"""Reading a day's report: streamed over HTTP as JSON lines (the PSP's settlement report,
GET /v1/settlements/{day}; the bank's payouts report), handed on in batches of raw lines,
each with the merchant it names (the only field read in Python: it routes the line to its
shard; PostgreSQL parses the rest, set-based)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncGenerator
from typing import NamedTuple, Protocol

import aiohttp

BATCH_LINES = 20_000
CHUNK_BYTES = 1 << 20
_MERCHANT = re.compile(rb'"merchant"\s*:\s*"([^"]*)"')
_MERCHANT_COMPACT = b'"merchant":"'
_ID = re.compile(rb'"id"\s*:\s*"([^"]*)"')
_ID_COMPACT = b'"id":"'
_TYPE = re.compile(rb'"type"\s*:\s*"([^"]*)"')
_TYPE_COMPACT = b'"type":"'
"""How the simulator writes it: found with bytes.find, several times cheaper than the regex,
which remains for any other spacing."""


DISPUTE_LINE_TYPES = ("dispute", "dispute_reversal")
"""The line types whose reference is `<du_...>:<type>` (matching.py's parse does the same)."""


class ReportUnavailable(RuntimeError):
    """The report could not be fetched (the run fails with this message)."""


class RawLine(NamedTuple):
    """A line as read: the merchant it names (routes it), and its bytes (PostgreSQL parses
    them)."""

    merchant_id: str
    body: bytes


class ReportSource(Protocol):
    def lines(self, day: dt.date) -> AsyncGenerator[list[RawLine], None]:
        """The day's report, in batches of lines, in the report's order (closed early by a
        reader that has found what it looked for)."""


class HttpJsonLinesReport:
    """A JSON-lines report at `{base_url}{path}` where `path` names the day ("{day}")."""

    def __init__(self, base_url: str, path: str, timeout_seconds: float = 300.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._path = path
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=5.0)

    async def lines(self, day: dt.date) -> AsyncGenerator[list[RawLine], None]:
        url = self._base_url + self._path.format(day=day.isoformat())
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(url) as response,
            ):
                if response.status != 200:
                    raise ReportUnavailable(f"GET {url} answered {response.status}")
                pending = b""
                batch: list[RawLine] = []
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    batch.extend(_raw(line) for line in complete if line.strip())
                    if len(batch) >= BATCH_LINES:
                        yield batch
                        batch = []
                if pending.strip():
                    batch.append(_raw(pending))
                if batch:
                    yield batch
        except aiohttp.ClientError as error:
            raise ReportUnavailable(f"GET {url} failed: {error}") from None


def _raw(line: bytes) -> RawLine:
    return RawLine(_string_field(line, _MERCHANT_COMPACT, _MERCHANT), line)


def line_id(body: bytes) -> str:
    """The `id` a line names (ch_, rf_, du_; "" when it has none), read as the merchant is."""
    return _string_field(body, _ID_COMPACT, _ID)


def line_reference(body: bytes) -> str:
    """The reference of the item a line is about, as matching names it: its `id`, or for a
    dispute's movement `<du_...>:<type>` (the types are the codes of paycore's transfers)."""
    found = line_id(body)
    kind = _string_field(body, _TYPE_COMPACT, _TYPE)
    return f"{found}:{kind}" if kind in DISPUTE_LINE_TYPES else found


def _string_field(line: bytes, compact: bytes, pattern: re.Pattern[bytes]) -> str:
    """A string field of a JSON line: found after `compact` (its key as the simulator writes
    it), else by `pattern` (any other spacing); "" when the line has none."""
    start = line.find(compact)
    if start >= 0:
        start += len(compact)
        end = line.find(b'"', start)
        if end >= 0:
            return line[start:end].decode()
    found = pattern.search(line)
    return found.group(1).decode() if found else ""
