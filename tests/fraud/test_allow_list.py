"""A merchant's allow list (issue 18): the values it vouches for are allowed over the review
rules and the model, never over a blocklist or a block rule, and only at that merchant."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.fraud.rules import DEFAULT_POLICY
from paycore.fraud.servicer.messages import policy_message
from paycore.v1 import fraud_pb2

from tests.fraud.support import again, customer_id, returning_customer
from tests.helpers import MerchantFixture, rich_error

ALLOW, REVIEW, BLOCK = (
    fraud_pb2.RISK_DECISION_ALLOW,
    fraud_pb2.RISK_DECISION_REVIEW,
    fraud_pb2.RISK_DECISION_BLOCK,
)
CUSTOMER = fraud_pb2.BLOCKLIST_ITEM_TYPE_CUSTOMER


def _defaults_with(*allow: fraud_pb2.AllowListItem) -> fraud_pb2.UpdateRiskPolicyRequest:
    defaults = policy_message("", DEFAULT_POLICY)
    return fraud_pb2.UpdateRiskPolicyRequest(rules=defaults.rules, allow=allow)


async def test_an_allow_listed_customer_passes_the_amount_review_at_its_merchant_only(
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
    admin_client_for: Callable[[str | None], Paycore],
) -> None:
    corporate = customer_id(merchant.merchant.id)
    stored = await admin_client_for(merchant.merchant.id).fraud.UpdateRiskPolicy(
        _defaults_with(fraud_pb2.AllowListItem(type=CUSTOMER, value=corporate))
    )
    assert [(item.type, item.value) for item in stored.allow] == [(CUSTOMER, corporate)]
    read = await admin_client_for(merchant.merchant.id).fraud.GetRiskPolicy(
        fraud_pb2.GetRiskPolicyRequest()
    )
    assert read.allow == stored.allow

    large = returning_customer(merchant.merchant.id, customer=corporate, amount=2_500_000)
    allowed = await merchant.client.fraud.ScorePayment(large)
    assert allowed.decision == ALLOW, allowed
    assert allowed.reasons[:2] == ["allowlisted_customer", "amount_limit"]
    # The same customer id at a merchant that did not allow-list it: the amount review holds.
    elsewhere = returning_customer(other_merchant.merchant.id, customer=corporate)
    elsewhere.amount = 2_500_000
    held = await other_merchant.client.fraud.ScorePayment(elsewhere)
    assert held.decision == REVIEW and "amount_limit" in held.reasons


async def test_a_block_rule_still_blocks_an_allow_listed_customer(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    corporate = customer_id(merchant.merchant.id)
    await admin_client_for(merchant.merchant.id).fraud.UpdateRiskPolicy(
        _defaults_with(fraud_pb2.AllowListItem(type=CUSTOMER, value=corporate))
    )
    first = returning_customer(merchant.merchant.id, customer=corporate)
    answers = [await merchant.client.fraud.ScorePayment(first)]
    for _ in range(11):  # more than 10 a minute from one IP: ip_velocity_1m blocks
        answers.append(await merchant.client.fraud.ScorePayment(again(first, merchant.merchant.id)))
    assert answers[-1].decision == BLOCK
    assert "ip_velocity_1m" in answers[-1].reasons


@pytest.mark.parametrize(
    ("item", "param"),
    [
        (fraud_pb2.AllowListItem(type=fraud_pb2.BLOCKLIST_ITEM_TYPE_COUNTRY, value="US"), "type"),
        (fraud_pb2.AllowListItem(type=CUSTOMER, value="not-a-customer"), "value"),
        (fraud_pb2.AllowListItem(value="cus_x"), "type"),
    ],
)
async def test_a_bad_allow_list_item_is_invalid_argument_naming_it(
    merchant: MerchantFixture,
    admin_client_for: Callable[[str | None], Paycore],
    item: fraud_pb2.AllowListItem,
    param: str,
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    with pytest.raises(aio.AioRpcError) as raised:
        await operator.fraud.UpdateRiskPolicy(_defaults_with(item))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).param == f"allow[0].{param}"
    unchanged = await operator.fraud.GetRiskPolicy(fraud_pb2.GetRiskPolicyRequest())
    assert list(unchanged.allow) == []
