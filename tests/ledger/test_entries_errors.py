"""ListEntries names its own field, `account`, when the account is not found (it named `id`,
a field ListEntriesRequest does not have, as GetAccount's error does)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from paycore.client import Paycore
from paycore.ids import Prefix, new_merchant_id
from paycore.v1 import ledger_pb2

from tests.helpers import MerchantFixture, rich_error
from tests.ledger.support import account


async def test_an_unknown_account_is_not_found_naming_account(
    admin: Paycore, merchant: MerchantFixture
) -> None:
    unknown = new_merchant_id(Prefix.LEDGER_ACCOUNT, merchant.merchant.id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.ledger.ListEntries(ledger_pb2.ListEntriesRequest(account=unknown))

    error = rich_error(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")
    assert error.metadata["param"] == "account"


async def test_another_merchants_account_is_not_found_naming_account(
    admin: Paycore,
    admin_client_for: Callable[[str | None], Paycore],
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
) -> None:
    theirs = await account(admin, other_merchant.merchant.id, "their_entries")
    acting = admin_client_for(merchant.merchant.id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await acting.ledger.ListEntries(ledger_pb2.ListEntriesRequest(account=theirs))

    assert rich_error(raised.value).code == grpc.StatusCode.NOT_FOUND
    assert rich_error(raised.value).metadata["param"] == "account"
