"""Domain objects -> paycore.v1 fraud messages."""

from __future__ import annotations

from paycore.fraud import models
from paycore.fraud.rules import Policy
from paycore.fraud.service import Scored
from paycore.runtime.messages import by_number_or_none, converts, derived, message_of
from paycore.v1 import fraud_pb2

BLOCKLIST_TYPES_BY_NUMBER = by_number_or_none(models.BlocklistType, fraud_pb2.BlocklistItemType)
REVIEW_STATUSES_BY_NUMBER = by_number_or_none(models.ReviewStatus, fraud_pb2.ReviewStatus)
OUTCOME_LABELS_BY_NUMBER = by_number_or_none(models.OutcomeLabel, fraud_pb2.OutcomeLabel)


review_message = derived(models.Review, fraud_pb2.Review)
blocklist_item_message = derived(models.BlocklistItem, fraud_pb2.BlocklistItem)


@converts(fraud_pb2.ReportOutcomeResponse)
def outcome_message(assessment: models.Assessment) -> fraud_pb2.ReportOutcomeResponse:
    return message_of(fraud_pb2.ReportOutcomeResponse, assessment, reported=assessment.labelled)


def policy_message(merchant_id: str, policy: Policy) -> fraud_pb2.RiskPolicy:
    return message_of(fraud_pb2.RiskPolicy, policy, merchant=merchant_id)


@converts(fraud_pb2.RemoveBlocklistItemResponse)
def removed_message(item_id: str) -> fraud_pb2.RemoveBlocklistItemResponse:
    return fraud_pb2.RemoveBlocklistItemResponse(id=item_id, deleted=True)


@converts(fraud_pb2.RiskAssessment)
def assessment_message(scored: Scored) -> fraud_pb2.RiskAssessment:
    return message_of(
        fraud_pb2.RiskAssessment,
        scored.assessment,
        decision=scored.decision,
        review=scored.review,
    )
