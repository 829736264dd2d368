"""Stripe's `type` of a connected account (standard, express, custom): stored at creation and
rendered on the seller account, custom when left out."""

from __future__ import annotations

import grpc
from paycore.v1 import account_pb2

from tests.customer.support import failure
from tests.payout.support import World

A = account_pb2


async def test_a_seller_account_keeps_the_type_it_was_created_with(world: World) -> None:
    shop = await world.shop()
    accounts = shop.client.accounts

    def new(**fields: object) -> A.CreateSellerAccountRequest:
        return A.CreateSellerAccountRequest(
            email="seller@example.com",
            country="US",
            default_currency="usd",
            **fields,  # type: ignore[arg-type]
        )

    express = await accounts.CreateSellerAccount(new(type=A.SELLER_ACCOUNT_TYPE_EXPRESS))
    standard = await accounts.CreateSellerAccount(new(type=A.SELLER_ACCOUNT_TYPE_STANDARD))
    plain = await accounts.CreateSellerAccount(new())
    assert express.type == A.SELLER_ACCOUNT_TYPE_EXPRESS
    assert standard.type == A.SELLER_ACCOUNT_TYPE_STANDARD
    assert plain.type == A.SELLER_ACCOUNT_TYPE_CUSTOM
    got = await accounts.GetSellerAccount(A.GetSellerAccountRequest(id=express.id))
    assert got.type == A.SELLER_ACCOUNT_TYPE_EXPRESS
    listed = await accounts.ListSellerAccounts(A.ListSellerAccountsRequest())
    assert [found.type for found in listed.data] == [
        A.SELLER_ACCOUNT_TYPE_CUSTOM,
        A.SELLER_ACCOUNT_TYPE_STANDARD,
        A.SELLER_ACCOUNT_TYPE_EXPRESS,
    ]
    wrong = await failure(
        accounts.CreateSellerAccount(new(type=9)), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert wrong.param == "type"
    await shop.close()
