"""Bad input gets INVALID_ARGUMENT naming the field, and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, idempotency_key
from paycore.v1 import account_pb2

from tests.helpers import MerchantFixture, rich_error

VALID_SELLER: dict[str, Any] = {"email": "s@shop.test", "country": "US", "default_currency": "usd"}


async def _invalid(call: Callable[..., Awaitable[Any]], request: Any, **kwargs: Any) -> str:
    with pytest.raises(aio.AioRpcError) as raised:
        await call(request, **kwargs)
    error = rich_error(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error
    assert error.param, error
    assert error.reason, error
    return error.param


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@x.test"}, "email"),
        ({"country": "XX"}, "country"),
        ({"country": "DE", "default_currency": ""}, "default_currency"),
        ({"default_currency": "usdollar"}, "default_currency"),
        ({"business_name": "n" * 201}, "business_name"),
        ({"metadata": {"k" * 41: "v"}}, "metadata[" + "k" * 41 + "]"),
        ({"metadata": {"note": "v" * 501}}, "metadata[note]"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"business_name": "a\x00b"}, "business_name"),
        ({"metadata": {"note": "a\x00b"}}, "metadata[note]"),
        ({"metadata": {"no\x00te": "v"}}, "metadata"),
    ],
)
async def test_create_seller_account_names_the_bad_field(
    merchant: MerchantFixture, changes: dict[str, Any], param: str
) -> None:
    request = account_pb2.CreateSellerAccountRequest(**{**VALID_SELLER, **changes})
    assert await _invalid(merchant.client.accounts.CreateSellerAccount, request) == param
    listed = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest()
    )
    assert list(listed.data) == []


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"email": "nope"}, "email"),
        ({"country": "USA"}, "country"),
        ({"default_currency": "xyz"}, "default_currency"),
    ],
)
async def test_create_merchant_names_the_bad_field(
    admin: Paycore, changes: dict[str, Any], param: str
) -> None:
    valid = {"name": "Valid", "email": "a@b.test", "country": "US", "default_currency": "usd"}
    request = account_pb2.CreateMerchantRequest(**{**valid, **changes})
    assert await _invalid(admin.accounts.CreateMerchant, request) == param


@pytest.mark.parametrize(
    "bad_id", ["", "acct_", "acct_short", "cus_" + "0" * 22, "acct_" + "!" * 22, "acct_" + "z" * 22]
)
async def test_malformed_ids_are_invalid_not_found(merchant: MerchantFixture, bad_id: str) -> None:
    request = account_pb2.GetSellerAccountRequest(id=bad_id)
    assert await _invalid(merchant.client.accounts.GetSellerAccount, request) == "id"


async def test_list_parameters_are_checked(merchant: MerchantFixture) -> None:
    accounts = merchant.client.accounts
    for limit in (-1, 101):
        request = account_pb2.ListSellerAccountsRequest(limit=limit)
        assert await _invalid(accounts.ListSellerAccounts, request) == "limit"
    request = account_pb2.ListSellerAccountsRequest(starting_after="key_" + "0" * 22)
    assert await _invalid(accounts.ListSellerAccounts, request) == "starting_after"


async def test_unknown_enum_value_is_invalid(merchant: MerchantFixture) -> None:
    request = account_pb2.ListApiKeysRequest(type=42)  # type: ignore[arg-type]
    assert await _invalid(merchant.client.accounts.ListApiKeys, request) == "type"


async def test_api_key_scopes_are_checked(merchant: MerchantFixture) -> None:
    accounts = merchant.client.accounts
    assert await _invalid(accounts.CreateApiKey, account_pb2.CreateApiKeyRequest()) == "scopes"
    request = account_pb2.CreateApiKeyRequest(scopes=["accounts:read", "accounts:delete"])
    assert await _invalid(accounts.CreateApiKey, request) == "scopes[1]"
    request = account_pb2.CreateApiKeyRequest(scopes=["treasure:read"])
    assert await _invalid(accounts.CreateApiKey, request) == "scopes[0]"
    listed = await accounts.ListApiKeys(
        account_pb2.ListApiKeysRequest(type=account_pb2.API_KEY_TYPE_RESTRICTED)
    )
    assert list(listed.data) == []


async def test_malformed_idempotency_key_is_invalid(merchant: MerchantFixture) -> None:
    request = account_pb2.CreateSellerAccountRequest(**VALID_SELLER)
    for key in ("k" * 256, "has space"):
        param = await _invalid(
            merchant.client.accounts.CreateSellerAccount, request, metadata=idempotency_key(key)
        )
        assert param == "idempotency-key"


async def test_invalid_request_does_not_burn_the_idempotency_key(merchant: MerchantFixture) -> None:
    bad = account_pb2.CreateSellerAccountRequest(**{**VALID_SELLER, "country": "ZZ"})
    await _invalid(
        merchant.client.accounts.CreateSellerAccount, bad, metadata=idempotency_key("fix-me")
    )
    good = account_pb2.CreateSellerAccountRequest(**VALID_SELLER)
    created = await merchant.client.accounts.CreateSellerAccount(
        good, metadata=idempotency_key("fix-me")
    )
    assert created.country == "US"
