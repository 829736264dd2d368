"""The same bank account twice: CreateBankAccount with the routing number and account number of
one the holder (the merchant, or one of its sellers) already has in that currency is refused,
ALREADY_EXISTS `BANK_ACCOUNT_EXISTS` naming account_number (Stripe's `bank_account_exists`),
while an idempotent replay of the first create still answers the first bank account. Another
holder, currency or routing number is another bank account; so is the replacement of one a
failed payout errored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from aiohttp import ClientSession
from grpc import aio
from paycore.app import Platform
from paycore.edge import start_edge
from paycore.storage.schema import bank_accounts
from paycore.v1 import account_pb2, payout_pb2
from sqlalchemy import update

from tests.helpers import MerchantFixture, RichError, rich_error
from tests.payout.support import PAID, ROUTING

P = payout_pb2
OTHER_ROUTING = "021000021"  # a valid ABA number other than ROUTING
ANY_CURRENCY_COUNTRY = "PH"
"""A country not in paycore.iso.COUNTRY_CURRENCIES: its bank accounts may be in any currency."""


def _request(**fields: object) -> P.CreateBankAccountRequest:
    request = P.CreateBankAccountRequest(
        country="US",
        currency="usd",
        account_holder_name="Jenny Rosen",
        account_holder_type=P.BANK_ACCOUNT_HOLDER_TYPE_COMPANY,
        routing_number=ROUTING,
        account_number=PAID,
    )
    for name, value in fields.items():
        setattr(request, name, value)
    return request


async def _create(
    merchant: MerchantFixture, key: str = "", **fields: object
) -> payout_pb2.BankAccount:
    metadata = (("idempotency-key", key),) if key else None
    return await merchant.client.payouts.CreateBankAccount(_request(**fields), metadata=metadata)


async def _refused(merchant: MerchantFixture, key: str = "", **fields: object) -> RichError:
    with pytest.raises(aio.AioRpcError) as raised:
        await _create(merchant, key, **fields)
    return rich_error(raised.value)


async def _listed(merchant: MerchantFixture, account: str = "") -> list[str]:
    found = await merchant.client.payouts.ListBankAccounts(
        P.ListBankAccountsRequest(limit=100, account=account)
    )
    return [bank_account.id for bank_account in found.data]


async def test_the_same_number_twice_is_refused_naming_the_field_and_the_first(
    merchant: MerchantFixture,
) -> None:
    first = await _create(merchant, key="ba-first")
    error = await _refused(merchant, key="ba-second")
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "BANK_ACCOUNT_EXISTS",
        "account_number",
    )
    assert first.id in error.message and PAID not in error.message
    # Spaces or another holder name do not make it another bank account.
    spaced = await _refused(merchant, account_number=f" {PAID} ", account_holder_name="J. Rosen")
    assert spaced.reason == "BANK_ACCOUNT_EXISTS"
    # Not as the default either: the first stays the default, alone.
    again = await _refused(merchant, default_for_currency=True)
    assert again.reason == "BANK_ACCOUNT_EXISTS"
    assert await _listed(merchant) == [first.id]
    read = await merchant.client.payouts.GetBankAccount(P.GetBankAccountRequest(id=first.id))
    assert read.default_for_currency

    replayed = await _create(merchant, key="ba-first")
    assert replayed == first


async def test_another_holder_currency_or_routing_number_is_another_bank_account(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    own = await _create(merchant)
    seller = await merchant.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="seller@shop.test", business_name="Seller", country="US", default_currency="usd"
        )
    )
    sellers = await _create(merchant, account=seller.id)
    assert (await _refused(merchant, account=seller.id)).reason == "BANK_ACCOUNT_EXISTS"
    # Another currency: in a country whose accounts paycore takes in any currency (a US one
    # is in usd only: tests/payout/test_bank_account_currency.py).
    abroad = {"country": ANY_CURRENCY_COUNTRY, "routing_number": "0001"}
    in_dollars = await _create(merchant, **abroad)
    in_euros = await _create(merchant, currency="eur", **abroad)
    elsewhere = await _create(merchant, routing_number=OTHER_ROUTING)
    theirs = await _create(other_merchant)
    assert len({own.id, sellers.id, in_dollars.id, in_euros.id, elsewhere.id, theirs.id}) == 6
    assert own.fingerprint == sellers.fingerprint == theirs.fingerprint
    assert in_dollars.fingerprint == in_euros.fingerprint
    listed = [own.id, in_dollars.id, in_euros.id, elsewhere.id]
    assert sorted(await _listed(merchant)) == sorted(listed)
    assert await _listed(merchant, seller.id) == [sellers.id]


async def test_an_errored_bank_account_can_be_replaced_by_the_same_number(
    platform: Platform, merchant: MerchantFixture
) -> None:
    first = await _create(merchant)
    merchant_id = merchant.merchant.id
    async with platform.shards.transaction(merchant_id) as connection:
        # What a failed payout does to its bank account (paycore.payout.lifecycle).
        await connection.execute(
            update(bank_accounts)
            .where(bank_accounts.c.merchant_id == merchant_id, bank_accounts.c.id == first.id)
            .values(status="errored")
        )
    replacement = await _create(merchant)
    assert replacement.id != first.id
    assert (await _refused(merchant)).reason == "BANK_ACCOUNT_EXISTS"


async def test_concurrent_creates_of_one_number_make_one_bank_account(
    merchant: MerchantFixture,
) -> None:
    outcomes = await asyncio.gather(
        *(_create(merchant, key=f"ba-race-{index}") for index in range(4)),
        return_exceptions=True,
    )
    made = [outcome for outcome in outcomes if isinstance(outcome, payout_pb2.BankAccount)]
    refused = [rich_error(o) for o in outcomes if isinstance(o, aio.AioRpcError)]
    assert len(made) == 1 and len(refused) == 3, outcomes
    assert {(error.code, error.reason) for error in refused} == {
        (grpc.StatusCode.ALREADY_EXISTS, "BANK_ACCOUNT_EXISTS")
    }
    assert await _listed(merchant) == [made[0].id]


@pytest_asyncio.fixture
async def edge_url(target: str) -> AsyncIterator[str]:
    server = await start_edge(target, "127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_rest_answers_bank_account_exists(merchant: MerchantFixture, edge_url: str) -> None:
    form = {
        "country": "US",
        "currency": "usd",
        "account_holder_name": "Jenny Rosen",
        "routing_number": ROUTING,
        "account_number": PAID,
    }
    headers = {"Authorization": f"Bearer {merchant.merchant.secret_key}"}
    async with ClientSession(edge_url, headers=headers) as http:
        first = await http.post("/v1/bank_accounts", data=form, headers={"Idempotency-Key": "k1"})
        assert first.status == 200, await first.text()
        created = await first.json()
        second = await http.post("/v1/bank_accounts", data=form, headers={"Idempotency-Key": "k2"})
        error = (await second.json())["error"]
        assert second.status == 409
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "bank_account_exists",
            "account_number",
        )
        replay = await http.post("/v1/bank_accounts", data=form, headers={"Idempotency-Key": "k1"})
        assert (replay.status, await replay.json()) == (200, created)
