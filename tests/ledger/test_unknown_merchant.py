"""An operator naming a merchant that does not exist in CheckIntegrity or ListAccounts gets
NOT_FOUND naming `merchant` (docs/api.md: the operator and internal methods answer NOT_FOUND
for a filter naming no object), as CreateAccount answers. Before, CheckIntegrity answered
`ok: true` over no account, a clean report for a mistyped merchant id, and ListAccounts an
empty page."""

from __future__ import annotations

import grpc
import pytest
from paycore.client import Paycore
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.ledger.support import account, integrity_ok


def _ghost(merchant: MerchantFixture) -> str:
    """An id of the merchant's shard that no merchant has."""
    real = merchant.merchant.id
    return real[:-1] + ("A" if real[-1] != "A" else "B")


async def test_checking_a_merchant_that_does_not_exist_is_not_found(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    await account(admin, merchant.merchant.id, "checked")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.ledger.CheckIntegrity(
            ledger_pb2.CheckIntegrityRequest(merchant=_ghost(merchant))
        )
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_MISSING",
        "merchant",
    )
    report = await integrity_ok(admin, merchant.merchant.id)
    assert report.account_count >= 1


async def test_listing_the_accounts_of_a_merchant_that_does_not_exist_is_not_found(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.ledger.ListAccounts(ledger_pb2.ListAccountsRequest(merchant=_ghost(merchant)))
    error = rich_error(raised.value)
    assert (error.code, error.param) == (grpc.StatusCode.NOT_FOUND, "merchant")
    await account(admin, merchant.merchant.id, "listed")
    listed = await admin.ledger.ListAccounts(
        ledger_pb2.ListAccountsRequest(merchant=merchant.merchant.id)
    )
    assert [found.code for found in listed.data] == ["listed"]
