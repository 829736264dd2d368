"""ListEntries names its own field, `account`, when the account is not found (it named `id`,
a field ListEntriesRequest does not have, as GetAccount's error does)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from paycore.client import Paycore
from paycore.ids import Prefix, new_id, new_merchant_id
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


@pytest.mark.parametrize(
    ("call", "param", "kind"),
    [
        ("ListEntries", "account", "ledger_account"),
        ("GetAccount", "id", "ledger_account"),
        ("GetTransfer", "id", "ledger_transfer"),
    ],
)
async def test_an_id_beyond_the_deployments_logical_shards_is_missing_as_any_other(
    admin: Paycore, call: str, param: str, kind: str
) -> None:
    """An id whose logical shard this deployment has not is not found in the words of any
    unknown id: its field and its object's name. Before, ListEntries named `id` (a field it has
    not) and every message read "No such la" / "No such lt"."""
    prefix = Prefix.LEDGER_TRANSFER if call == "GetTransfer" else Prefix.LEDGER_ACCOUNT
    beyond = new_id(prefix, 4000)
    request = {
        "ListEntries": ledger_pb2.ListEntriesRequest(account=beyond),
        "GetAccount": ledger_pb2.GetAccountRequest(id=beyond),
        "GetTransfer": ledger_pb2.GetTransferRequest(id=beyond),
    }[call]

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(admin.ledger, call)(request)

    error = rich_error(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")
    assert error.metadata["param"] == param
    assert f"No such {kind}: '{beyond}'" in error.message
