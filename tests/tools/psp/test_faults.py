"""Faults: the time-out and answer-lost cards, down, error rate, latency, no PSP at all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from paycore.psp.client import PspClient, PspTimeout, PspTransientError
from paycore.tools.psp import cards

from tests.helpers import PspSimulator, free_port
from tests.tools.psp.support import charge, new_key

SHORT_TIMEOUT_SECONDS = 0.3


@pytest_asyncio.fixture
async def client(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client()
    yield client
    await client.close()


@pytest_asyncio.fixture
async def impatient(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client(timeout_seconds=SHORT_TIMEOUT_SECONDS)
    yield client
    await client.close()


async def test_the_time_out_card_times_out_and_is_never_processed(
    psp: PspSimulator, impatient: PspClient, client: PspClient
) -> None:
    key = new_key()
    started = time.monotonic()
    with pytest.raises(PspTimeout) as timed_out:
        await charge(impatient, cards.CARD_TIMES_OUT, key=key)
    elapsed = time.monotonic() - started
    assert SHORT_TIMEOUT_SECONDS <= elapsed < SHORT_TIMEOUT_SECONDS + 1
    assert cards.CARD_TIMES_OUT not in str(timed_out.value)
    assert await client.lookup(key) is None
    assert psp.count("charges") == 0


async def test_a_held_answer_does_not_hold_other_requests(
    psp: PspSimulator, client: PspClient
) -> None:
    held = asyncio.create_task(charge(client, cards.CARD_TIMES_OUT))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    for _ in range(5):
        assert (await charge(client)).status == "captured"
    assert time.monotonic() - started < 1
    assert not held.done()
    held.cancel()


@pytest.mark.parametrize(("capture", "status"), [(True, "captured"), (False, "authorized")])
async def test_the_answer_lost_card_is_charged_and_found_by_lookup(
    psp: PspSimulator, impatient: PspClient, capture: bool, status: str
) -> None:
    key = new_key()
    with pytest.raises(PspTimeout):
        await charge(impatient, cards.CARD_ANSWER_LOST, key=key, amount=4200, capture=capture)
    found = await impatient.lookup(key)
    assert found is not None
    assert (found.operation, found.status, found.amount) == ("charge", status, 4200)
    # Retrying with the same key answers the stored result; it never charges twice.
    again = await charge(impatient, cards.CARD_ANSWER_LOST, key=key, amount=4200, capture=capture)
    assert again == found
    assert psp.count("charges") == 1


async def test_lose_answers_drops_the_next_answers_of_any_card_after_recording_them(
    psp: PspSimulator, impatient: PspClient
) -> None:
    await psp.set_faults(lose_answers=1)
    key = new_key()
    with pytest.raises(PspTimeout):
        await charge(impatient, cards.CARD_SUCCEEDS, key=key, amount=4200)
    assert (await psp.set_faults())["lose_answers"] == 0  # counted down
    found = await impatient.lookup(key)
    assert found is not None and (found.status, found.amount) == ("captured", 4200)
    assert await charge(impatient, cards.CARD_SUCCEEDS, key=key, amount=4200) == found
    assert (await charge(impatient, cards.CARD_SUCCEEDS)).status == "captured"  # answered again
    assert psp.count("charges") == 2
    with pytest.raises(AssertionError, match="lose_answers"):
        await psp.set_faults(lose_answers=-1)


async def test_down_answers_every_request_transiently_then_recovers(
    psp: PspSimulator, client: PspClient
) -> None:
    key = new_key()
    faults = await psp.set_faults(down=True)
    assert faults["down"] is True
    started = time.monotonic()
    with pytest.raises(PspTransientError) as down:
        await charge(client, key=key)
    assert down.value.code == "psp_unavailable"
    with pytest.raises(PspTransientError):
        await client.lookup(key)  # down is not "never processed"
    assert time.monotonic() - started < 1
    await psp.set_faults(down=False)
    assert await client.lookup(key) is None
    assert (await charge(client, key=key)).status == "captured"


async def test_an_error_rate_of_one_fails_every_mutation_unprocessed(
    psp: PspSimulator, client: PspClient
) -> None:
    faults = await psp.set_faults(error_rate=1.0)
    assert faults["error_rate"] == 1.0
    key = new_key()
    for _ in range(3):
        with pytest.raises(PspTransientError) as failed:
            await charge(client, key=key)
        assert failed.value.code == "psp_unavailable"
    assert await client.lookup(key) is None  # reads are not failed by the error rate
    assert psp.count("operations") == 0


async def test_a_partial_error_rate_fails_about_that_fraction(
    psp: PspSimulator, client: PspClient
) -> None:
    await psp.set_faults(error_rate=0.5)
    failures = 0
    for _ in range(200):
        try:
            await charge(client)
        except PspTransientError:
            failures += 1
    assert 60 <= failures <= 140
    assert psp.count("charges") == 200 - failures


async def test_latency_is_added_before_answering(psp: PspSimulator, client: PspClient) -> None:
    await psp.set_faults(latency_ms=200)
    started = time.monotonic()
    await charge(client)
    assert time.monotonic() - started >= 0.2
    await psp.set_faults(latency_ms=0)
    started = time.monotonic()
    await charge(client)
    assert time.monotonic() - started < 0.2


async def test_invalid_faults_are_refused(psp: PspSimulator) -> None:
    with pytest.raises(AssertionError, match="error_rate"):
        await psp.set_faults(error_rate=1.5)
    assert (await psp.set_faults())["error_rate"] == 0.0


async def test_no_psp_listening_is_transient() -> None:
    client = PspClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    try:
        with pytest.raises(PspTransientError) as unreachable:
            await charge(client)
        assert unreachable.value.code == "psp_unreachable"
    finally:
        await client.close()


async def test_switching_faults_needs_the_control_token(psp: PspSimulator) -> None:
    """Issue 23, item 7: without the token nobody can take the PSP down."""
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            async with session.post(
                f"{psp.url}/_control/faults", json={"down": True}, headers=headers
            ) as refused:
                assert refused.status == 401
                assert (await refused.json())["error"]["code"] == "unauthorized"
        async with session.get(f"{psp.url}/_control/faults") as shown:
            assert (await shown.json())["down"] is False
    assert (await psp.set_faults(down=True))["down"] is True
