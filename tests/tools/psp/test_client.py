"""The client against answers the simulator never gives: what each must mean to the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.helpers import TimeoutHandle
from paycore.config import load_settings
from paycore.errors import ConfigurationError
from paycore.psp.client import (
    PspClient,
    PspError,
    PspRejected,
    PspTimeout,
    PspTransientError,
    call_timeout,
)
from paycore.tools.psp import cards
from paycore.tools.psp.command import address_of

from tests.helpers import PspSimulator
from tests.tools.psp.support import card, charge


@dataclass
class FakePsp:
    """A server answering every request with the status and body last set."""

    url: str = ""
    status: int = 200
    body: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(status=self.status, text=self.body)


@pytest_asyncio.fixture
async def fake_psp() -> AsyncIterator[FakePsp]:
    fake = FakePsp()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (200, "<html>ok</html>", PspTimeout, "psp_protocol_error"),  # may have happened
        (200, '{"id": "ch_1"}', PspTimeout, "psp_protocol_error"),
        (404, "<html>no</html>", PspRejected, "psp_protocol_error"),
        (502, "<html>bad gateway</html>", PspTransientError, "psp_unavailable"),
        (503, '{"error": {"code": "psp_unavailable"}}', PspTransientError, "psp_unavailable"),
        (429, '{"error": {"code": "rate_limited"}}', PspTransientError, "rate_limited"),
        (409, '{"error": {"code": "amount_too_large"}}', PspRejected, "amount_too_large"),
    ],
)
async def test_unexpected_answers(
    fake_psp: FakePsp,
    status: int,
    body: str,
    error: type[PspError],
    code: str,
) -> None:
    fake_psp.status, fake_psp.body = status, body
    client = PspClient(fake_psp.url, timeout_seconds=2)
    try:
        with pytest.raises(error) as raised:
            await charge(client, cards.CARD_SUCCEEDS)
        assert raised.value.code == code
        assert cards.CARD_SUCCEEDS not in str(raised.value)
    finally:
        await client.close()


async def test_a_wrong_url_is_never_read_as_never_processed(psp: PspSimulator) -> None:
    client = PspClient(psp.url + "/wrong", timeout_seconds=2)
    try:
        with pytest.raises(PspRejected) as rejected:
            await client.lookup("any-key")
        assert rejected.value.code == "route_unknown"
    finally:
        await client.close()


def test_card_details_mask_the_number() -> None:
    details = card(cards.CARD_SUCCEEDS, cvc="987")
    assert cards.CARD_SUCCEEDS not in repr(details) and "987" not in repr(details)
    assert "4242" in repr(details)


async def test_the_client_can_be_closed_and_used_again(psp: PspSimulator) -> None:
    client = psp.client()
    try:
        assert (await charge(client)).status == "captured"
        await client.close()
        assert (await charge(client)).status == "captured"
    finally:
        await client.close()


async def test_keys_with_any_characters_are_looked_up(psp: PspSimulator) -> None:
    client = psp.client()
    key = "pord_1/attempt 2?x=%41&é"
    try:
        charged = await charge(client, key=key)
        assert await client.lookup(key) == charged
        assert await client.lookup(key[:-1]) is None
    finally:
        await client.close()


def test_the_timeout_setting() -> None:
    assert load_settings({}).psp_timeout_ms == 5000
    assert load_settings({}).psp_url == "http://127.0.0.1:8091"
    assert load_settings({"PAYCORE_PSP_TIMEOUT_MS": "250"}).psp_timeout_ms == 250


@pytest.mark.parametrize("timeout_seconds", [0.4, 5.0, 30.0])
async def test_a_call_s_deadline_is_its_timeout_not_the_next_whole_second(
    timeout_seconds: float,
) -> None:
    """The timer aiohttp starts for a call (as ClientSession._request does) falls at the
    timeout; aiohttp's default rounded one of 5 s or more (PAYCORE_PSP_TIMEOUT_MS's default)
    up to the loop clock's next whole second, and a hanging call ran up to a second past it."""
    timeout = call_timeout(timeout_seconds)
    loop = asyncio.get_running_loop()
    before = loop.time()
    timer = TimeoutHandle(loop, timeout.total, ceil_threshold=timeout.ceil_threshold).start()
    after = loop.time()
    assert timer is not None
    timer.cancel()
    assert before + timeout_seconds <= timer.when() <= after + timeout_seconds


def test_the_simulator_address_of_a_url() -> None:
    assert address_of("http://127.0.0.1:8091") == "127.0.0.1:8091"
    assert address_of("http://localhost") == "localhost:8091"
    assert address_of("http://127.0.0.1:0") == "127.0.0.1:0"  # any free port
    with pytest.raises(ConfigurationError):
        address_of("https://psp.example.com")
