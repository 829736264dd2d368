"""The simulator's wallet cards: a cryptogram authenticates a token's charge; once a charge
with the right cryptogram succeeded, the same merchant charges the token again without one
(merchant-initiated, as a saved Apple Pay / Google Pay card at Stripe); everything else without
the right cryptogram is declined `invalid_cryptogram`. The store keeps no DPAN in clear."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from paycore.psp.client import CardDetails, PspClient, PspResult
from paycore.secret import Secret
from paycore.tools.psp.store import DATABASE_FILE

from tests.helpers import PspSimulator
from tests.payment.wallets import wallet_token
from tests.tools.psp.support import EXP_YEAR, new_key

MERCHANT = "acct_wallets"
PAST_YEAR = 2020


@pytest_asyncio.fixture
async def client(psp: PspSimulator) -> AsyncIterator[PspClient]:
    client = psp.client()
    yield client
    await client.close()


async def _charge(
    client: PspClient,
    token: dict[str, Any],
    *,
    cryptogram: str | None = None,
    wallet: str | None = None,
    merchant: str = MERCHANT,
    exp_year: int = EXP_YEAR,
    capture: bool = True,
    key: str | None = None,
) -> PspResult:
    """A charge of the token's DPAN as a wallet card; `cryptogram` "" sends none."""
    sent = token["cryptogram"] if cryptogram is None else cryptogram
    return await client.charge(
        idempotency_key=key or new_key(),
        merchant=merchant,
        reference="pi_wallet",
        amount=1000,
        currency="usd",
        card=CardDetails(
            number=Secret(token["number"]),
            exp_month=12,
            exp_year=exp_year,
            wallet=token["type"] if wallet is None else wallet,
            cryptogram=Secret(sent) if sent else None,
        ),
        capture=capture,
    )


async def test_a_token_charged_with_its_cryptogram_is_charged_again_without_one(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "apple_pay")

    first = await _charge(client, token, capture=False)
    again = await _charge(client, token, cryptogram="")
    once_more = await _charge(client, token, cryptogram="")

    assert (first.status, again.status, once_more.status) == (
        "authorized",
        "captured",
        "captured",
    )


async def test_a_token_never_authenticated_is_declined_without_a_cryptogram(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "google_pay")

    declined = await _charge(client, token, cryptogram="")

    assert declined.declined and declined.decline_code == "invalid_cryptogram"
    assert declined.message


async def test_only_a_successful_charge_with_the_right_cryptogram_authenticates(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "apple_pay")
    bad = await wallet_token(psp, "apple_pay", "bad_cryptogram")
    # The right cryptogram on a charge declined for another reason (an expired card).
    expired = await _charge(client, token, exp_year=PAST_YEAR)
    # The DPAN charged as a plain card, and a wrong cryptogram.
    plain = await client.charge(
        idempotency_key=new_key(),
        merchant=MERCHANT,
        reference="pi_plain",
        amount=1000,
        currency="usd",
        card=CardDetails(number=Secret(token["number"]), exp_month=12, exp_year=EXP_YEAR),
        capture=True,
    )
    wrong = await _charge(client, bad)

    without = [
        await _charge(client, token, cryptogram=""),
        await _charge(client, bad, cryptogram=""),
    ]

    assert expired.decline_code == "expired_card"
    assert plain.status == "captured"
    assert wrong.decline_code == "invalid_cryptogram"
    assert [result.decline_code for result in without] == ["invalid_cryptogram"] * 2


async def test_the_authentication_is_per_merchant_and_wallet_and_a_wrong_cryptogram_stays_wrong(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "google_pay")
    authenticated = await _charge(client, token)

    other_merchant = await _charge(client, token, cryptogram="", merchant="acct_other")
    other_wallet = await _charge(client, token, cryptogram="", wallet="apple_pay")
    wrong = await _charge(client, token, cryptogram="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")

    assert authenticated.status == "captured"
    assert other_merchant.decline_code == "invalid_cryptogram"
    assert other_wallet.decline_code == "invalid_cryptogram"
    assert wrong.decline_code == "invalid_cryptogram"


async def test_a_replay_of_the_authenticating_charge_answers_the_first_answer(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "apple_pay")
    key = new_key()

    first = await _charge(client, token, key=key)
    replay = await _charge(client, token, key=key)

    assert replay.reference == first.reference and replay.status == "captured"
    assert psp.count("charges") == 1
    assert psp.count("wallet_authentications") == 1


async def test_the_store_keeps_no_dpan_nor_cryptogram_in_clear(
    psp: PspSimulator, client: PspClient
) -> None:
    token = await wallet_token(psp, "apple_pay")
    await _charge(client, token)
    await _charge(client, token, cryptogram="")

    with contextlib.closing(sqlite3.connect(psp.data_dir / DATABASE_FILE)) as connection:
        tables = connection.execute("select name from sqlite_master where type = 'table'")
        texts = [
            str(value)
            for (table,) in tables.fetchall()
            for row in connection.execute(f"select * from {table}")
            for value in row
        ]
    assert psp.count("wallet_authentications") == 1
    assert texts
    for secret in (token["number"], token["cryptogram"]):
        assert not [text for text in texts if secret in text]
