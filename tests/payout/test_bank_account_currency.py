"""A bank account's currency must be one its country's accounts are held in: a US account in
EUR was accepted, and payouts in EUR then went to a dollar account. Where paycore knows a
country's currency (paycore.iso.COUNTRY_CURRENCIES) the pair is checked, INVALID_ARGUMENT naming
`currency`, before anything is stored."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import payout_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.payout.support import PAID, ROUTING, iban

GERMAN = iban("DE", "370400440532013000")


def _request(
    country: str, currency: str, number: str, routing: str
) -> payout_pb2.CreateBankAccountRequest:
    return payout_pb2.CreateBankAccountRequest(
        country=country,
        currency=currency,
        account_holder_name="Jenny Rosen",
        routing_number=routing,
        account_number=number,
    )


@pytest.mark.parametrize(
    ("country", "currency", "number", "routing"),
    [
        ("US", "eur", PAID, ROUTING),
        ("US", "gbp", PAID, ROUTING),
        ("DE", "usd", GERMAN, ""),
        ("JP", "usd", "1234567", "0001"),
    ],
)
async def test_a_currency_its_country_does_not_hold_accounts_in_is_refused(
    merchant: MerchantFixture, country: str, currency: str, number: str, routing: str
) -> None:
    payouts = merchant.client.payouts

    with pytest.raises(aio.AioRpcError) as raised:
        await payouts.CreateBankAccount(_request(country, currency, number, routing))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raised.value)
    assert (error.reason, error.param) == ("PARAMETER_INVALID", "currency")
    assert country in error.message, error.message
    listed = await payouts.ListBankAccounts(payout_pb2.ListBankAccountsRequest(limit=10))
    assert list(listed.data) == []


async def test_a_country_with_its_own_currency_is_taken(merchant: MerchantFixture) -> None:
    payouts = merchant.client.payouts
    us = await payouts.CreateBankAccount(_request("US", "usd", PAID, ROUTING))
    de = await payouts.CreateBankAccount(_request("DE", "eur", GERMAN, ""))
    assert (us.currency, de.currency) == ("usd", "eur")
