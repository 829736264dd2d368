"""FraudService over gRPC: request -> checks -> domain call -> response."""

from __future__ import annotations

import re
import time
from typing import Any

from grpc import aio
from paycore import validation
from paycore.errors import invalid, missing
from paycore.fraud.checks import ip_address, payment_facts, payment_id
from paycore.fraud.features import FEATURE_NAMES
from paycore.fraud.messages import (
    BLOCKLIST_TYPES_BY_NUMBER,
    OUTCOME_LABELS_BY_NUMBER,
    REVIEW_STATUSES_BY_NUMBER,
    blocklist_item_message,
    outcome_message,
    policy_message,
    review_message,
)
from paycore.fraud.models import Assessment, BlocklistType, ReviewStatus
from paycore.fraud.repository import PLATFORM
from paycore.fraud.rules import (
    CONDITIONS_MAX,
    DEFAULT_BLOCK_ABOVE,
    DEFAULT_DEGRADED_REVIEW_ABOVE_USD,
    DEFAULT_REVIEW_ABOVE,
    RULES_MAX,
    Condition,
    Decision,
    Policy,
    Rule,
)
from paycore.fraud.service import FraudService
from paycore.ids import Prefix, logical_shard_of
from paycore.runtime.context import current_call
from paycore.runtime.mutations import ADMIN_OWNER, Mutations
from paycore.storage import Shards
from paycore.v1 import fraud_pb2, fraud_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

Context = aio.ServicerContext[Any, Any]
NOTE_LENGTH_MAX = 500
VALUE_LENGTH_MAX = 800
RULE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")
_ACTIONS = {
    fraud_pb2.RISK_DECISION_REVIEW: Decision.REVIEW,
    fraud_pb2.RISK_DECISION_BLOCK: Decision.BLOCK,
}


class FraudServicer(fraud_pb2_grpc.FraudServiceServicer):
    def __init__(self, service: FraudService, shards: Shards, mutations: Mutations) -> None:
        self._service = service
        self._shards = shards
        self._mutations = mutations

    async def ScorePayment(
        self, request: fraud_pb2.ScorePaymentRequest, context: Context
    ) -> fraud_pb2.RiskAssessment:
        merchant_id = current_call().require_merchant()
        facts = payment_facts(merchant_id, request, time.time_ns() // 1_000_000)

        async def change(connection: AsyncConnection) -> fraud_pb2.RiskAssessment:
            return await self._service.assess(connection, facts)

        return await self._mutations.for_merchant(
            merchant_id, request, fraud_pb2.RiskAssessment, change
        )

    async def ReportOutcome(
        self, request: fraud_pb2.ReportOutcomeRequest, context: Context
    ) -> fraud_pb2.ReportOutcomeResponse:
        merchant_id = current_call().require_merchant()
        payment = payment_id("payment", request.payment)
        label = OUTCOME_LABELS_BY_NUMBER[
            validation.enum_value("label", request.label, OUTCOME_LABELS_BY_NUMBER)
        ]
        if label is None:
            raise missing("label")
        note = validation.text("note", request.note, maximum=NOTE_LENGTH_MAX)
        labelled: list[Assessment] = []

        async def change(connection: AsyncConnection) -> fraud_pb2.ReportOutcomeResponse:
            assessment = await self._service.label(connection, merchant_id, payment, label, note)
            labelled.append(assessment)
            return outcome_message(assessment)

        response = await self._mutations.for_merchant(
            merchant_id, request, fraud_pb2.ReportOutcomeResponse, change
        )
        for assessment in labelled:  # not on an idempotent replay: counted the first time
            await self._service.count_outcome(assessment)
        return response

    async def AddBlocklistItem(
        self, request: fraud_pb2.AddBlocklistItemRequest, context: Context
    ) -> fraud_pb2.BlocklistItem:
        kind = BLOCKLIST_TYPES_BY_NUMBER[
            validation.enum_value("type", request.type, BLOCKLIST_TYPES_BY_NUMBER)
        ]
        if kind is None:
            raise missing("type")
        value = _blocklist_value(kind, request.value)
        merchant_id = validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        reason = validation.text("reason", request.reason, maximum=NOTE_LENGTH_MAX)
        metadata = validation.metadata("metadata", request.metadata)

        async def change(connection: AsyncConnection) -> fraud_pb2.BlocklistItem:
            item = await self._service.add_blocklist_item(
                connection, merchant_id or PLATFORM, kind, value, reason, metadata
            )
            return blocklist_item_message(item)

        if merchant_id:
            return await self._mutations.for_merchant(
                merchant_id, request, fraud_pb2.BlocklistItem, change
            )
        engine = self._shards.engine_for_logical(0)
        response = await self._mutations.on_engine(
            engine, ADMIN_OWNER, request, fraud_pb2.BlocklistItem, change
        )
        await self._service.copy_platform_item(response.id)
        return response

    async def RemoveBlocklistItem(
        self, request: fraud_pb2.RemoveBlocklistItemRequest, context: Context
    ) -> fraud_pb2.RemoveBlocklistItemResponse:
        item_id = validation.object_id("id", request.id, Prefix.BLOCKLIST_ITEM)
        platform_wide: list[bool] = []

        async def change(connection: AsyncConnection) -> fraud_pb2.RemoveBlocklistItemResponse:
            removed = await self._service.remove_blocklist_item(connection, item_id)
            platform_wide.append(removed.merchant_id == PLATFORM)
            return fraud_pb2.RemoveBlocklistItemResponse(id=item_id, deleted=True)

        engine = self._shards.engine_for_logical(logical_shard_of(item_id, Prefix.BLOCKLIST_ITEM))
        response = await self._mutations.on_engine(
            engine, ADMIN_OWNER, request, fraud_pb2.RemoveBlocklistItemResponse, change
        )
        if any(platform_wide):
            await self._service.remove_platform_copies(item_id)
        return response

    async def ListBlocklistItems(
        self, request: fraud_pb2.ListBlocklistItemsRequest, context: Context
    ) -> fraud_pb2.ListBlocklistItemsResponse:
        kind = BLOCKLIST_TYPES_BY_NUMBER[
            validation.enum_value("type", request.type, BLOCKLIST_TYPES_BY_NUMBER)
        ]
        merchant_id = validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        items, has_more = await self._service.list_blocklist_items(
            merchant_id or None,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.BLOCKLIST_ITEM, required=False
            ),
            kind,
            validation.text("value", request.value, maximum=VALUE_LENGTH_MAX),
        )
        return fraud_pb2.ListBlocklistItemsResponse(
            data=[blocklist_item_message(item) for item in items], has_more=has_more
        )

    async def GetRiskPolicy(
        self, request: fraud_pb2.GetRiskPolicyRequest, context: Context
    ) -> fraud_pb2.RiskPolicy:
        merchant_id = current_call().require_merchant()
        return policy_message(merchant_id, await self._service.get_policy(merchant_id))

    async def UpdateRiskPolicy(
        self, request: fraud_pb2.UpdateRiskPolicyRequest, context: Context
    ) -> fraud_pb2.RiskPolicy:
        merchant_id = current_call().require_merchant()
        policy = _policy(request)

        async def change(connection: AsyncConnection) -> fraud_pb2.RiskPolicy:
            stored = await self._service.put_policy(connection, merchant_id, policy)
            return policy_message(merchant_id, stored)

        response = await self._mutations.for_merchant(
            merchant_id, request, fraud_pb2.RiskPolicy, change
        )
        self._service.forget_policy(merchant_id)
        return response

    async def GetReview(
        self, request: fraud_pb2.GetReviewRequest, context: Context
    ) -> fraud_pb2.Review:
        review_id = validation.object_id("id", request.id, Prefix.REVIEW)
        return review_message(await self._service.get_review(_acting_for(), review_id))

    async def ListReviews(
        self, request: fraud_pb2.ListReviewsRequest, context: Context
    ) -> fraud_pb2.ListReviewsResponse:
        status = REVIEW_STATUSES_BY_NUMBER[
            validation.enum_value("status", request.status, REVIEW_STATUSES_BY_NUMBER)
        ]
        merchant_id = validation.object_id(
            "merchant", request.merchant, Prefix.ACCOUNT, required=False
        )
        reviews, has_more = await self._service.list_reviews(
            merchant_id or _acting_for(),
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.REVIEW, required=False
            ),
            status,
        )
        return fraud_pb2.ListReviewsResponse(
            data=[review_message(review) for review in reviews], has_more=has_more
        )

    async def ApproveReview(
        self, request: fraud_pb2.ApproveReviewRequest, context: Context
    ) -> fraud_pb2.Review:
        return await self._close(request, ReviewStatus.APPROVED)

    async def RejectReview(
        self, request: fraud_pb2.RejectReviewRequest, context: Context
    ) -> fraud_pb2.Review:
        return await self._close(request, ReviewStatus.REJECTED)

    async def _close(
        self,
        request: fraud_pb2.ApproveReviewRequest | fraud_pb2.RejectReviewRequest,
        status: ReviewStatus,
    ) -> fraud_pb2.Review:
        review_id = validation.object_id("id", request.id, Prefix.REVIEW)
        note = validation.text("note", request.note, maximum=NOTE_LENGTH_MAX)
        merchant_id = _acting_for()
        labelled: list[Assessment] = []

        async def change(connection: AsyncConnection) -> fraud_pb2.Review:
            closed, assessment = await self._service.close_review(
                connection, merchant_id, review_id, status, note
            )
            labelled.extend([assessment] if assessment else [])
            return review_message(closed)

        engine = self._shards.engine_for_logical(logical_shard_of(review_id, Prefix.REVIEW))
        review = await self._mutations.on_engine(
            engine, merchant_id or ADMIN_OWNER, request, fraud_pb2.Review, change
        )
        for assessment in labelled:  # a rejected review counts as a confirmed fraud
            await self._service.count_outcome(assessment)
        await self._service.review_closed(review)
        return review


def _acting_for() -> str | None:
    """The merchant an operator named in paycore-merchant, if any (None: any merchant)."""
    caller = current_call().caller
    return None if caller is None else caller.merchant_id


def _blocklist_value(kind: BlocklistType, raw: str) -> str:
    value = validation.text("value", raw, maximum=VALUE_LENGTH_MAX, required=True)
    if kind is BlocklistType.EMAIL:
        return validation.email("value", value).lower()
    if kind is BlocklistType.COUNTRY:
        return validation.country("value", value)
    if kind is BlocklistType.CUSTOMER:
        return validation.object_id("value", value, Prefix.CUSTOMER)
    if kind is BlocklistType.IP:
        return ip_address("value", value)
    return value


def _policy(request: fraud_pb2.UpdateRiskPolicyRequest) -> Policy:
    review_above = request.review_above or DEFAULT_REVIEW_ABOVE
    block_above = request.block_above or DEFAULT_BLOCK_ABOVE
    if not 0 < review_above <= 1000:
        raise invalid("review_above", "thousandths between 1 and 1000 (0 for the default)")
    if not review_above <= block_above <= 1000:
        raise invalid("block_above", "thousandths between review_above and 1000")
    if request.degraded_review_above_usd < 0:
        raise invalid("degraded_review_above_usd", "US cents, at least 0 (0 for the default)")
    if len(request.rules) > RULES_MAX:
        raise invalid("rules", f"at most {RULES_MAX} rules")
    rules = tuple(_rule(f"rules[{index}]", rule) for index, rule in enumerate(request.rules))
    return Policy(
        review_above=review_above,
        block_above=block_above,
        rules=rules,
        degraded_review_above_usd=request.degraded_review_above_usd
        or DEFAULT_DEGRADED_REVIEW_ABOVE_USD,
    )


def _rule(param: str, rule: fraud_pb2.RiskRule) -> Rule:
    if not RULE_NAME.match(rule.name):
        raise invalid(f"{param}.name", "1 to 40 lowercase letters, digits or '_'")
    if not 1 <= len(rule.conditions) <= CONDITIONS_MAX:
        raise invalid(f"{param}.conditions", f"1 to {CONDITIONS_MAX} conditions")
    for index, condition in enumerate(rule.conditions):
        if condition.feature not in FEATURE_NAMES:
            raise invalid(
                f"{param}.conditions[{index}].feature",
                f"{condition.feature[:40]!r} is not a feature (docs/fraud.md)",
            )
    action = _ACTIONS.get(rule.action)
    if action is None:
        raise invalid(f"{param}.action", "RISK_DECISION_REVIEW or RISK_DECISION_BLOCK")
    return Rule(
        name=rule.name,
        conditions=tuple(Condition(c.feature, c.above) for c in rule.conditions),
        action=action,
    )
