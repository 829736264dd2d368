"""UpdateRiskPolicy's enum fields refuse a value they do not take as every enum field does
(docs/api.md, "Conventions"): PARAMETER_UNKNOWN_ENUM naming the field, the values it takes and
the one given, with the enum and the numbers taken in ErrorInfo. Before, a rule's `action` of
RISK_DECISION_ALLOW (or 9) and an allow-list item of BLOCKLIST_ITEM_TYPE_COUNTRY were
PARAMETER_INVALID with words of their own, which the REST edge could not rename."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.v1 import fraud_pb2

from tests.helpers import MerchantFixture, rich_error


def _rule(action: int) -> fraud_pb2.UpdateRiskPolicyRequest:
    condition = fraud_pb2.RiskCondition(feature="amount_usd", above=100)
    rule = fraud_pb2.RiskRule(name="over_a_dollar", conditions=[condition], action=action)  # type: ignore[arg-type]
    return fraud_pb2.UpdateRiskPolicyRequest(rules=[rule])


@pytest.mark.parametrize(
    ("request_", "param", "given", "accepted", "enum"),
    [
        (
            _rule(fraud_pb2.RISK_DECISION_ALLOW),
            "rules[0].action",
            "RISK_DECISION_ALLOW",
            "2,3",
            "paycore.v1.RiskDecision",
        ),
        (_rule(9), "rules[0].action", "9", "2,3", "paycore.v1.RiskDecision"),
        (
            fraud_pb2.UpdateRiskPolicyRequest(
                allow=[
                    fraud_pb2.AllowListItem(type=fraud_pb2.BLOCKLIST_ITEM_TYPE_COUNTRY, value="US")
                ]
            ),
            "allow[0].type",
            "BLOCKLIST_ITEM_TYPE_COUNTRY",
            "1,2,3,4",
            "paycore.v1.BlocklistItemType",
        ),
    ],
)
async def test_a_value_the_field_does_not_take_is_an_unknown_enum(
    merchant: MerchantFixture,
    admin_client_for: Callable[[str | None], Paycore],
    request_: fraud_pb2.UpdateRiskPolicyRequest,
    param: str,
    given: str,
    accepted: str,
    enum: str,
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await admin_client_for(merchant.merchant.id).fraud.UpdateRiskPolicy(request_)
    error = rich_error(raised.value)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.reason, error.param) == ("PARAMETER_UNKNOWN_ENUM", param)
    assert error.metadata["enum"] == enum and error.metadata["accepted"] == accepted
    assert f"(not {given})" in error.message


async def test_a_rule_without_an_action_is_missing_its_action(
    merchant: MerchantFixture, admin_client_for: Callable[[str | None], Paycore]
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await admin_client_for(merchant.merchant.id).fraud.UpdateRiskPolicy(
            _rule(fraud_pb2.RISK_DECISION_UNSPECIFIED)
        )
    error = rich_error(raised.value)
    assert (error.reason, error.param) == ("PARAMETER_MISSING", "rules[0].action")
