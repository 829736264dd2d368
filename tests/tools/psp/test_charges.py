"""Charges, captures and voids through the real client against the real simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from paycore.psp.client import CardDetails, PspClient, PspRejected, PspTransientError
from paycore.secret import Secret
from paycore.tools.psp import cards

from tests.helpers import PspSimulator
from tests.tools.psp.support import card, charge, new_key


@pytest_asyncio.fixture
async def client(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client()
    yield client
    await client.close()


async def test_the_succeeding_card_charges_and_captures(
    psp: PspSimulator, client: PspClient
) -> None:
    result = await charge(client, cards.CARD_SUCCEEDS, amount=1234, currency="eur")
    assert (result.operation, result.status, result.amount, result.currency) == (
        "charge",
        "captured",
        1234,
        "eur",
    )
    assert result.reference.startswith("ch_") and not result.declined
    assert psp.count("charges") == 1


async def test_any_other_luhn_valid_number_succeeds(client: PspClient) -> None:
    result = await charge(client, "5555555555554444", capture=False)
    assert (result.status, result.amount) == ("authorized", 1000)


@pytest.mark.parametrize(
    ("number", "decline_code"),
    [
        (cards.CARD_DECLINED, "generic_decline"),
        (cards.CARD_INSUFFICIENT_FUNDS, "insufficient_funds"),
        (cards.CARD_EXPIRED, "expired_card"),
        (cards.CARD_INCORRECT_CVC, "incorrect_cvc"),
        (cards.CARD_PROCESSING_ERROR, "processing_error"),
    ],
)
async def test_declining_cards_are_answered_and_recorded(
    psp: PspSimulator, client: PspClient, number: str, decline_code: str
) -> None:
    key = new_key()
    result = await charge(client, number, key=key)
    assert result.declined and result.status == "declined"
    assert result.decline_code == decline_code and result.message
    assert result.reference.startswith("ch_")
    assert await client.lookup(key) == result
    assert psp.count("charges") == 1


async def test_a_past_expiry_declines_as_expired(client: PspClient) -> None:
    expired = CardDetails(Secret(cards.CARD_SUCCEEDS), exp_month=1, exp_year=2020)
    result = await client.charge(
        idempotency_key=new_key(),
        merchant="acct_1",
        reference="pord_1",
        amount=500,
        currency="usd",
        card=expired,
        capture=True,
    )
    assert (result.status, result.decline_code) == ("declined", "expired_card")


async def test_the_psp_error_card_is_transient_and_records_nothing(
    psp: PspSimulator, client: PspClient
) -> None:
    key = new_key()
    for _ in range(3):  # retries with the same key keep failing
        with pytest.raises(PspTransientError) as failed:
            await charge(client, cards.CARD_PSP_ERROR, key=key)
        assert failed.value.code == "psp_error"
    assert await client.lookup(key) is None
    assert psp.count("charges") == 0 and psp.count("operations") == 0


async def test_a_replay_answers_the_stored_result_without_charging_again(
    psp: PspSimulator, client: PspClient
) -> None:
    key = new_key()
    first = await charge(client, key=key)
    again = await charge(client, key=key)
    assert again == first
    assert await client.lookup(key) == first
    assert psp.count("charges") == 1 and psp.count("operations") == 1


async def test_a_replayed_decline_stays_the_same_decline(
    psp: PspSimulator, client: PspClient
) -> None:
    key = new_key()
    first = await charge(client, cards.CARD_INSUFFICIENT_FUNDS, key=key)
    assert await charge(client, cards.CARD_INSUFFICIENT_FUNDS, key=key) == first
    assert psp.count("charges") == 1


@pytest.mark.parametrize(
    "change",
    [{"amount": 1001}, {"currency": "eur"}, {"number": "5555555555554444"}, {"capture": False}],
)
async def test_the_same_key_with_other_parameters_is_rejected(
    psp: PspSimulator, client: PspClient, change: dict[str, object]
) -> None:
    key = new_key()
    await charge(client, key=key)
    arguments: dict[str, object] = {"amount": 1000, "currency": "usd", "capture": True}
    arguments.update(change)
    number = str(arguments.pop("number", cards.CARD_SUCCEEDS))
    with pytest.raises(PspRejected) as rejected:
        await charge(client, number, key=key, **arguments)  # type: ignore[arg-type]
    assert rejected.value.code == "idempotency_key_reused"
    assert psp.count("charges") == 1


async def test_a_key_is_not_reusable_across_operations(client: PspClient) -> None:
    key = new_key()
    charged = await charge(client, key=key, capture=False)
    with pytest.raises(PspRejected) as rejected:
        await client.capture(idempotency_key=key, charge=charged.reference)
    assert rejected.value.code == "idempotency_key_reused"


async def test_authorize_then_partial_capture_releases_the_rest(
    psp: PspSimulator, client: PspClient
) -> None:
    authorized = await charge(client, amount=5000, capture=False)
    assert (authorized.status, authorized.amount) == ("authorized", 5000)
    capture_key = new_key()
    captured = await client.capture(
        idempotency_key=capture_key, charge=authorized.reference, amount=3000
    )
    assert (captured.operation, captured.status, captured.amount) == ("capture", "captured", 3000)
    assert captured.reference == authorized.reference
    replayed = await client.capture(
        idempotency_key=capture_key, charge=authorized.reference, amount=3000
    )
    assert replayed == captured
    with pytest.raises(PspRejected) as second:
        await client.capture(idempotency_key=new_key(), charge=authorized.reference, amount=1000)
    assert second.value.code == "charge_already_captured"
    state = await _charge_state(psp, authorized.reference)
    assert (state["amount"], state["amount_captured"], state["status"]) == (5000, 3000, "captured")


async def test_capture_without_amount_takes_the_whole_authorization(client: PspClient) -> None:
    authorized = await charge(client, amount=700, capture=False)
    captured = await client.capture(idempotency_key=new_key(), charge=authorized.reference)
    assert (captured.status, captured.amount) == ("captured", 700)


async def test_capture_above_the_authorization_is_rejected_and_remembered(
    client: PspClient,
) -> None:
    authorized = await charge(client, amount=700, capture=False)
    key = new_key()
    for _ in range(2):
        with pytest.raises(PspRejected) as rejected:
            await client.capture(idempotency_key=key, charge=authorized.reference, amount=701)
        assert rejected.value.code == "amount_too_large"
    with pytest.raises(PspRejected):
        await client.lookup(key)  # the stored answer is the same rejection
    captured = await client.capture(idempotency_key=new_key(), charge=authorized.reference)
    assert captured.amount == 700


async def test_void_releases_an_authorization_once(psp: PspSimulator, client: PspClient) -> None:
    authorized = await charge(client, amount=900, capture=False)
    key = new_key()
    voided = await client.void(idempotency_key=key, charge=authorized.reference)
    assert (voided.operation, voided.status, voided.amount) == ("void", "voided", 900)
    assert await client.void(idempotency_key=key, charge=authorized.reference) == voided
    assert await client.lookup(key) == voided
    with pytest.raises(PspRejected) as again:
        await client.void(idempotency_key=new_key(), charge=authorized.reference)
    assert again.value.code == "charge_already_voided"
    with pytest.raises(PspRejected) as capture:
        await client.capture(idempotency_key=new_key(), charge=authorized.reference)
    assert capture.value.code == "charge_already_voided"
    assert (await _charge_state(psp, authorized.reference))["status"] == "voided"


async def test_a_captured_charge_cannot_be_voided(client: PspClient) -> None:
    captured = await charge(client)
    with pytest.raises(PspRejected) as rejected:
        await client.void(idempotency_key=new_key(), charge=captured.reference)
    assert rejected.value.code == "charge_already_captured"


async def test_a_declined_charge_cannot_be_captured(client: PspClient) -> None:
    declined = await charge(client, cards.CARD_DECLINED, capture=False)
    with pytest.raises(PspRejected) as rejected:
        await client.capture(idempotency_key=new_key(), charge=declined.reference)
    assert rejected.value.code == "charge_declined"


async def test_an_unknown_charge_is_rejected_and_the_key_stays_unused(
    psp: PspSimulator, client: PspClient
) -> None:
    key = new_key()
    with pytest.raises(PspRejected) as rejected:
        await client.capture(idempotency_key=key, charge="ch_unknown")
    assert rejected.value.code == "not_found"
    assert await client.lookup(key) is None
    assert psp.count("operations") == 0


async def test_lookup_of_an_unknown_key_is_none(client: PspClient) -> None:
    assert await client.lookup("never-sent/with a slash") is None


async def test_bad_input_is_rejected_naming_the_field(psp: PspSimulator, client: PspClient) -> None:
    with pytest.raises(PspRejected) as bad_number:
        await charge(client, "4242424242424241")
    assert bad_number.value.code == "parameter_invalid"
    assert "card[number]" in bad_number.value.message
    assert "4242424242424241" not in str(bad_number.value)
    with pytest.raises(PspRejected) as bad_currency:
        await charge(client, currency="usdx")
    assert bad_currency.value.code == "parameter_invalid"
    with pytest.raises(PspRejected) as zero:
        await charge(client, amount=0)
    assert zero.value.code == "parameter_invalid"
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{psp.url}/v1/charges", json={"amount": 1}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "parameter_missing"
    assert psp.count("operations") == 0


async def test_a_card_without_cvc_charges(client: PspClient) -> None:
    result = await client.charge(
        idempotency_key=new_key(),
        merchant="acct_1",
        reference="pord_1",
        amount=100,
        currency="jpy",
        card=card(cvc=None),
        capture=True,
    )
    assert (result.status, result.currency) == ("captured", "jpy")


async def test_get_charge_shows_card_but_never_the_number(psp: PspSimulator) -> None:
    client = psp.client()
    try:
        charged = await charge(client, amount=2500)
    finally:
        await client.close()
    state = await _charge_state(psp, charged.reference)
    assert state["card"]["last4"] == "4242" and state["card"]["brand"] == "visa"
    assert cards.CARD_SUCCEEDS not in str(state)


async def _charge_state(psp: PspSimulator, charge_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{psp.url}/v1/charges/{charge_id}") as response,
    ):
        assert response.status == 200
        state: dict[str, Any] = await response.json()
        return state
