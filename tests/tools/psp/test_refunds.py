"""Refunds: partial, repeated, never above the captured amount, even all at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from paycore.psp.client import PspClient, PspRejected, PspResult

from tests.helpers import PspSimulator
from tests.tools.psp.support import charge, new_key


@pytest_asyncio.fixture
async def client(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client()
    yield client
    await client.close()


async def test_partial_then_repeated_refunds_up_to_the_captured_amount(
    psp: PspSimulator, client: PspClient
) -> None:
    captured = await charge(client, amount=1000)
    first_key = new_key()
    first = await client.refund(idempotency_key=first_key, charge=captured.reference, amount=300)
    assert (first.operation, first.status, first.amount, first.currency) == (
        "refund",
        "refunded",
        300,
        "usd",
    )
    assert first.reference.startswith("rf_")
    # A replay answers the same refund and refunds nothing more.
    replayed = await client.refund(idempotency_key=first_key, charge=captured.reference, amount=300)
    assert replayed == first
    assert await client.lookup(first_key) == first
    second = await client.refund(idempotency_key=new_key(), charge=captured.reference, amount=700)
    assert second.amount == 700 and second.reference != first.reference
    with pytest.raises(PspRejected) as over:
        await client.refund(idempotency_key=new_key(), charge=captured.reference, amount=1)
    assert over.value.code == "amount_too_large"
    assert psp.count("refunds") == 2


async def test_an_over_refund_is_rejected_at_once(client: PspClient) -> None:
    captured = await charge(client, amount=1000)
    with pytest.raises(PspRejected) as over:
        await client.refund(idempotency_key=new_key(), charge=captured.reference, amount=1001)
    assert over.value.code == "amount_too_large"


async def test_refunds_count_against_the_captured_not_the_authorized_amount(
    client: PspClient,
) -> None:
    authorized = await charge(client, amount=1000, capture=False)
    with pytest.raises(PspRejected) as uncaptured:
        await client.refund(idempotency_key=new_key(), charge=authorized.reference, amount=100)
    assert uncaptured.value.code == "charge_not_captured"
    await client.capture(idempotency_key=new_key(), charge=authorized.reference, amount=400)
    refunded = await client.refund(
        idempotency_key=new_key(), charge=authorized.reference, amount=400
    )
    assert refunded.amount == 400
    with pytest.raises(PspRejected):
        await client.refund(idempotency_key=new_key(), charge=authorized.reference, amount=1)


async def test_refund_of_an_unknown_charge(client: PspClient) -> None:
    with pytest.raises(PspRejected) as unknown:
        await client.refund(idempotency_key=new_key(), charge="ch_nothing", amount=1)
    assert unknown.value.code == "not_found"


async def test_fifty_concurrent_refunds_never_exceed_the_captured_amount(
    psp: PspSimulator, client: PspClient
) -> None:
    captured = await charge(client, amount=1000)

    async def refund() -> PspResult | PspRejected:
        try:
            return await client.refund(
                idempotency_key=new_key(), charge=captured.reference, amount=30
            )
        except PspRejected as rejected:
            return rejected

    outcomes = await asyncio.gather(*(refund() for _ in range(50)))
    refunded = [outcome for outcome in outcomes if isinstance(outcome, PspResult)]
    rejected = [outcome for outcome in outcomes if isinstance(outcome, PspRejected)]
    assert len(refunded) == 33  # 33 * 30 = 990 <= 1000 < 34 * 30
    assert {error.code for error in rejected} == {"amount_too_large"} and len(rejected) == 17
    assert sum(result.amount for result in refunded) == 990
    assert psp.count("refunds") == 33
