"""One POST of a delivery, over the one pooled HTTP client of the process.

The client never follows redirects (a 3xx is a failure, as at Stripe), ignores proxy settings
from the environment, reads at most RESPONSE_READ_MAX bytes of an answer, and gives up after
the timeout. Its resolver refuses forbidden addresses (addresses.py) at every resolution;
hosts that are IP literals to aiohttp, which it does not resolve, are checked here before
sending."""

from __future__ import annotations

import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from paycore.webhooks.addresses import ForbiddenAddress, ip_literal, is_forbidden, resolve
from paycore.webhooks.models import Outcome
from yarl import URL

RESPONSE_READ_MAX = 4096
RESPONSE_BODY_MAX = 1024
DNS_CACHE_SECONDS = 10
USER_AGENT = "paycore-webhooks/1"


class CheckingResolver(AbstractResolver):
    """aiohttp's resolver that refuses a host resolving to a forbidden address: the check is
    made on the addresses the connection then uses, at each resolution."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class Sender:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        connections_max: int,
        connections_per_host_max: int,
        allow_private: bool,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._connections_max = connections_max
        self._connections_per_host_max = connections_per_host_max
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: it needs the running loop, and most processes never send.
        if self._session is None:
            resolver: AbstractResolver = (
                aiohttp.ThreadedResolver() if self._allow_private else CheckingResolver()
            )
            connector = aiohttp.TCPConnector(
                limit=self._connections_max,
                limit_per_host=self._connections_per_host_max,
                ttl_dns_cache=DNS_CACHE_SECONDS,
                resolver=resolver,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
                headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()

        def failed(error: str, status: int = 0) -> Outcome:
            return Outcome(status, _elapsed_ms(started), "", error)

        if not self._allow_private:
            literal = ip_literal(_connected_host(url))
            if literal is not None and is_forbidden(literal):
                return failed("address_forbidden")
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                read = await response.content.read(RESPONSE_READ_MAX)
                answered = response.status
                retry_after = (
                    retry_after_seconds(response.headers.get("Retry-After"))
                    if answered in RETRY_AFTER_STATUSES
                    else 0
                )
        except (TimeoutError, ValueError, aiohttp.ClientError, OSError) as error:
            return failed(_failure_of(error))
        text = read.decode("utf-8", errors="replace")[:RESPONSE_BODY_MAX]
        failure = "" if 200 <= answered < 300 else f"http_{answered}"
        return Outcome(answered, _elapsed_ms(started), text, failure, retry_after)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _connected_host(url: str) -> str:
    """The host as the client connects to it: yarl's, IDNA-mapped, so that a name written in
    compatibility characters (\u2460\u2461\u2466.0.0.1) is the IP literal the client takes it for
    and does not resolve; as written when yarl refuses it (the post then fails the same way)."""
    try:
        return URL(url).host or ""
    except ValueError:
        return urlsplit(url).hostname or ""


def _failure_of(error: Exception) -> str:
    """An attempt that got no answer: why, as the delivery log says it."""
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ForbiddenAddress):
            return "address_forbidden"
        if isinstance(error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
            return "tls_error"
        if isinstance(error.os_error, ConnectionRefusedError):
            return "connection_refused"
        return "connection_error"
    if isinstance(error, ValueError):
        # A host no resolver takes ("a..b", a label over 63 characters: the IDNA codec's
        # UnicodeError), or aiohttp's InvalidURL: the attempt fails as an unreachable one.
        return "invalid_url"
    return "connection_error"


RETRY_AFTER_STATUSES = frozenset({429, 503})
"""The answers whose Retry-After is honoured (too many requests, unavailable); another
failure's is not a wait the receiver asks for, and its retry follows the schedule."""
_RETRY_AFTER_DIGITS_MAX = 9


def retry_after_seconds(value: str | None) -> int:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; 0 when absent or bad
    (whatever the receiver sent: a Unicode digit, thousands of digits, a date out of range)."""
    if not value:
        return 0
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Longer than any wait honoured (capped at the schedule's longest step) is as long.
        return int(value[:_RETRY_AFTER_DIGITS_MAX])
    try:
        when: Any = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(0, int(when.timestamp() - time.time()))


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
