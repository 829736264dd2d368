"""A card fingerprint is checked where it is listed as where it is scored: ScorePayment refuses
a fingerprint that is not 1 to 64 letters, digits, '-' or '_', so a blocklist, value list or
allow-list item holding one could never match a payment. Before, AddBlocklistItem,
CreateValueListItem and UpdateRiskPolicy's `allow` stored it and answered OK: the operator or
merchant believed the card blocked (or vouched for)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.v1 import fraud_pb2

from tests.helpers import MerchantFixture, rich_error

CARD = fraud_pb2.BLOCKLIST_ITEM_TYPE_CARD_FINGERPRINT
UNMATCHABLE = ["has space", "x" * 65, "fp:4242"]


@pytest.mark.parametrize("value", UNMATCHABLE)
async def test_a_blocklist_item_of_a_fingerprint_no_payment_can_have_is_refused(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore], value: str
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    with pytest.raises(aio.AioRpcError) as raised:
        await operator.fraud.AddBlocklistItem(
            fraud_pb2.AddBlocklistItemRequest(type=CARD, value=value)
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "value"


@pytest.mark.parametrize("value", UNMATCHABLE)
async def test_a_value_list_item_of_such_a_fingerprint_is_refused(
    merchant: MerchantFixture, value: str
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.fraud.CreateValueListItem(
            fraud_pb2.CreateValueListItemRequest(
                value_list="rsl_block_card_fingerprint", value=value
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "value"


async def test_an_allow_list_item_of_such_a_fingerprint_is_refused(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    with pytest.raises(aio.AioRpcError) as raised:
        await operator.fraud.UpdateRiskPolicy(
            fraud_pb2.UpdateRiskPolicyRequest(
                allow=[fraud_pb2.AllowListItem(type=CARD, value="has space")]
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == "allow[0].value"


async def test_a_fingerprint_a_payment_can_have_is_listed_and_blocks(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    value = "Ab-3_" + "z" * 59  # 64 characters: the longest ScorePayment takes
    item = await admin_client_for(merchant.merchant.id).fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(type=CARD, value=value)
    )
    assert item.value == value
    scored = await merchant.client.fraud.ScorePayment(
        fraud_pb2.ScorePaymentRequest(amount=2_000, currency="usd", card_fingerprint=value)
    )
    assert scored.decision == fraud_pb2.RISK_DECISION_BLOCK
    assert scored.reasons[0] == "blocklisted_card"


async def test_an_item_for_a_merchant_that_does_not_exist_is_refused(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    """An operator naming no merchant's id in `merchant` (a typo, a deleted test account) gets
    NOT_FOUND naming it, as LedgerService.CreateAccount and a `paycore-merchant` naming no
    merchant answer. Before, the item was stored for that id, blocking nothing, and answered
    OK."""
    account = merchant.merchant.id
    ghost = account[:-1] + ("A" if account[-1] != "A" else "B")
    with pytest.raises(aio.AioRpcError) as raised:
        await admin_client_for(None).fraud.AddBlocklistItem(
            fraud_pb2.AddBlocklistItemRequest(
                type=fraud_pb2.BLOCKLIST_ITEM_TYPE_EMAIL, value="thief@example.com", merchant=ghost
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert rich_error(raised.value).param == "merchant"


async def test_an_operator_listing_a_merchant_that_does_not_exist_is_not_found(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    """The operators' lists filtered by a `merchant` no merchant has are RESOURCE_MISSING
    naming it, rather than an empty page that reads as "nothing blocked, nothing to review":
    NOT_FOUND from the internal ListBlocklistItems (docs/api.md: the operator methods answer
    NOT_FOUND for a filter naming no object), INVALID_ARGUMENT from ListReviews, as a merchant
    key naming another merchant there gets."""
    account = merchant.merchant.id
    ghost = account[:-1] + ("A" if account[-1] != "A" else "B")
    operator = admin_client_for(None)
    for call, code in (
        (
            operator.fraud.ListBlocklistItems(fraud_pb2.ListBlocklistItemsRequest(merchant=ghost)),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            operator.fraud.ListReviews(fraud_pb2.ListReviewsRequest(merchant=ghost)),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ):
        with pytest.raises(aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == code
        error = rich_error(raised.value)
        assert (error.reason, error.param) == ("RESOURCE_MISSING", "merchant")
    listed = await operator.fraud.ListReviews(fraud_pb2.ListReviewsRequest(merchant=account))
    assert list(listed.data) == []
