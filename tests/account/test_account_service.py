"""AccountService end to end: a real server, real PostgreSQL (two shards) and Redis."""

from __future__ import annotations

import re

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore, connect, idempotency_key
from paycore.v1 import account_pb2

from tests.helpers import MerchantFixture, rich_error

KEY_PATTERN = r"_test_[0-9A-Za-z]{54}$"


async def test_create_merchant_returns_its_keys_once(admin: Paycore) -> None:
    merchant = await admin.accounts.CreateMerchant(
        account_pb2.CreateMerchantRequest(
            name="Initech",
            email="ap@initech.test",
            country="us",
            default_currency="USD",
            metadata={"segment": "enterprise"},
        )
    )
    assert re.match(r"^acct_[0-9A-Za-z]{22}$", merchant.id)
    assert re.match("^sk" + KEY_PATTERN, merchant.secret_key)
    assert re.match("^pk" + KEY_PATTERN, merchant.publishable_key)
    assert (merchant.country, merchant.default_currency) == ("US", "usd")
    assert merchant.created > 0
    fetched = await admin.accounts.GetMerchant(account_pb2.GetMerchantRequest(id=merchant.id))
    assert fetched.name == "Initech"
    assert fetched.metadata["segment"] == "enterprise"
    assert fetched.secret_key == "" and fetched.publishable_key == ""


async def test_merchant_reads_itself_with_its_secret_key(merchant: MerchantFixture) -> None:
    fetched = await merchant.client.accounts.GetMerchant(
        account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    )
    assert fetched.id == merchant.merchant.id
    assert fetched.secret_key == ""


async def test_wrong_or_missing_key_is_unauthenticated(
    target: str, merchant: MerchantFixture
) -> None:
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    tampered = merchant.merchant.secret_key[:-1] + (
        "A" if merchant.merchant.secret_key[-1] != "A" else "B"
    )
    for key in (tampered, "sk_test_nonsense", "not-a-key"):
        async with connect(target, key) as client:
            with pytest.raises(aio.AioRpcError) as raised:
                await client.accounts.GetMerchant(request)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert rich_error(raised.value).reason == "API_KEY_INVALID"
    async with aio.insecure_channel(target) as channel:
        with pytest.raises(aio.AioRpcError) as raised:
            await Paycore(channel).accounts.GetMerchant(request)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rich_error(raised.value).reason == "API_KEY_MISSING"


async def test_another_merchants_objects_are_not_found(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    seller = await other_merchant.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="shop@globex.test", country="DE", default_currency="eur"
        )
    )
    with pytest.raises(aio.AioRpcError) as merchant_lookup:
        await merchant.client.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id=other_merchant.merchant.id)
        )
    with pytest.raises(aio.AioRpcError) as seller_lookup:
        await merchant.client.accounts.GetSellerAccount(
            account_pb2.GetSellerAccountRequest(id=seller.id)
        )
    for lookup in (merchant_lookup, seller_lookup):
        error = rich_error(lookup.value)
        assert error.code == grpc.StatusCode.NOT_FOUND
        assert error.reason == "RESOURCE_MISSING"
    listed = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest()
    )
    assert seller.id not in [account.id for account in listed.data]
    revoke = account_pb2.RevokeApiKeyRequest(id=_key_id(other_merchant.merchant.secret_key))
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.accounts.RevokeApiKey(revoke)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    still_works = await other_merchant.client.accounts.GetMerchant(
        account_pb2.GetMerchantRequest(id=other_merchant.merchant.id)
    )
    assert still_works.id == other_merchant.merchant.id


async def test_seller_accounts_live_with_their_merchant_and_page_newest_first(
    merchant: MerchantFixture,
) -> None:
    created = []
    for index in range(5):
        seller = await merchant.client.accounts.CreateSellerAccount(
            account_pb2.CreateSellerAccountRequest(
                email=f"seller{index}@shop.test",
                business_name=f"Seller {index}",
                country="FR",
                default_currency="eur",
            )
        )
        assert seller.merchant == merchant.merchant.id
        assert seller.id[5:] != merchant.merchant.id[5:]
        created.append(seller.id)
    first = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest(limit=3)
    )
    assert [account.id for account in first.data] == created[::-1][:3]
    assert first.has_more
    rest = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest(limit=3, starting_after=first.data[-1].id)
    )
    assert [account.id for account in rest.data] == created[::-1][3:]
    assert not rest.has_more


async def test_restricted_key_holds_only_its_scopes(target: str, merchant: MerchantFixture) -> None:
    key = await merchant.client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(name="reporting", scopes=["accounts:read"])
    )
    assert re.match("^rk" + KEY_PATTERN, key.secret)
    assert key.type == account_pb2.API_KEY_TYPE_RESTRICTED
    assert key.redacted.startswith("rk_test_...") and key.secret.endswith(key.redacted[-4:])
    async with connect(target, key.secret) as restricted:
        fetched = await restricted.accounts.GetMerchant(
            account_pb2.GetMerchantRequest(id=merchant.merchant.id)
        )
        assert fetched.id == merchant.merchant.id
        with pytest.raises(aio.AioRpcError) as raised:
            await restricted.accounts.CreateSellerAccount(
                account_pb2.CreateSellerAccountRequest(
                    email="a@b.test", country="US", default_currency="usd"
                )
            )
        error = rich_error(raised.value)
        assert error.code == grpc.StatusCode.PERMISSION_DENIED
        assert "accounts:write" in error.message


async def test_revoked_key_is_refused(target: str, merchant: MerchantFixture) -> None:
    key = await merchant.client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(name="temp", scopes=["accounts:write"])
    )
    request = account_pb2.GetMerchantRequest(id=merchant.merchant.id)
    async with connect(target, key.secret) as restricted:
        assert (await restricted.accounts.GetMerchant(request)).id == merchant.merchant.id
        revoked = await merchant.client.accounts.RevokeApiKey(
            account_pb2.RevokeApiKeyRequest(id=key.id)
        )
        assert revoked.revoked > 0
        with pytest.raises(aio.AioRpcError) as raised:
            await restricted.accounts.GetMerchant(request)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    listed = await merchant.client.accounts.ListApiKeys(
        account_pb2.ListApiKeysRequest(type=account_pb2.API_KEY_TYPE_RESTRICTED)
    )
    assert [(listed_key.id, listed_key.revoked > 0) for listed_key in listed.data] == [
        (key.id, True)
    ]
    assert all(listed_key.secret == "" for listed_key in listed.data)


async def test_methods_refuse_the_wrong_kind_of_caller(
    target: str, merchant: MerchantFixture
) -> None:
    create = account_pb2.CreateMerchantRequest(
        name="Sneaky", email="x@y.test", country="US", default_currency="usd"
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.accounts.CreateMerchant(create)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    async with connect(target, merchant.merchant.publishable_key) as publishable:
        with pytest.raises(aio.AioRpcError) as raised:
            await publishable.accounts.GetMerchant(
                account_pb2.GetMerchantRequest(id=merchant.merchant.id)
            )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rich_error(raised.value).reason == "PERMISSION_DENIED"


async def test_operator_acts_for_a_named_merchant(
    target: str, admin: Paycore, merchant: MerchantFixture, settings_admin_token: str
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await admin.accounts.ListSellerAccounts(account_pb2.ListSellerAccountsRequest())
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rich_error(raised.value).param == "paycore-merchant"
    async with connect(target, settings_admin_token, acting_for=merchant.merchant.id) as operator:
        seller = await operator.accounts.CreateSellerAccount(
            account_pb2.CreateSellerAccountRequest(
                email="ops@shop.test", country="US", default_currency="usd"
            )
        )
    assert seller.merchant == merchant.merchant.id


async def test_idempotent_replay_returns_the_first_answer(merchant: MerchantFixture) -> None:
    request = account_pb2.CreateSellerAccountRequest(
        email="once@shop.test", country="GB", default_currency="gbp"
    )
    first = await merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-once")
    )
    again = await merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("seller-once")
    )
    assert again == first
    listed = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest(limit=100)
    )
    assert [account.id for account in listed.data].count(first.id) == 1
    assert len([a for a in listed.data if a.email == "once@shop.test"]) == 1


async def test_idempotency_key_reused_for_another_request_is_refused(
    merchant: MerchantFixture,
) -> None:
    await merchant.client.accounts.CreateSellerAccount(
        account_pb2.CreateSellerAccountRequest(
            email="first@shop.test", country="US", default_currency="usd"
        ),
        metadata=idempotency_key("k-reused"),
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.accounts.CreateSellerAccount(
            account_pb2.CreateSellerAccountRequest(
                email="second@shop.test", country="US", default_currency="usd"
            ),
            metadata=idempotency_key("k-reused"),
        )
    error = rich_error(raised.value)
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "IDEMPOTENCY_KEY_REUSED"
    listed = await merchant.client.accounts.ListSellerAccounts(
        account_pb2.ListSellerAccountsRequest(limit=100)
    )
    assert "second@shop.test" not in [account.email for account in listed.data]


async def test_idempotency_keys_are_per_merchant(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    request = account_pb2.CreateSellerAccountRequest(
        email="same@shop.test", country="US", default_currency="usd"
    )
    mine = await merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("shared-key")
    )
    theirs = await other_merchant.client.accounts.CreateSellerAccount(
        request, metadata=idempotency_key("shared-key")
    )
    assert mine.id != theirs.id
    assert theirs.merchant == other_merchant.merchant.id


async def test_replayed_create_merchant_does_not_reveal_keys_again(admin: Paycore) -> None:
    request = account_pb2.CreateMerchantRequest(
        name="Hooli", email="ap@hooli.test", country="US", default_currency="usd"
    )
    first = await admin.accounts.CreateMerchant(request, metadata=idempotency_key("hooli"))
    again = await admin.accounts.CreateMerchant(request, metadata=idempotency_key("hooli"))
    assert first.secret_key and again.id == first.id
    assert again.secret_key == "" and again.publishable_key == ""


async def test_replay_of_a_failed_request_gives_the_same_error(merchant: MerchantFixture) -> None:
    missing_key = "key_" + "0" * 22
    request = account_pb2.RevokeApiKeyRequest(id=missing_key)
    for _ in range(2):
        with pytest.raises(aio.AioRpcError) as raised:
            await merchant.client.accounts.RevokeApiKey(
                request, metadata=idempotency_key("revoke-missing")
            )
        error = rich_error(raised.value)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")


def _key_id(key: str) -> str:
    return "key_" + key.split("_")[2][:22]
