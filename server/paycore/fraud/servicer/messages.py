"""Domain objects -> paycore.v1 fraud messages."""

from __future__ import annotations

from paycore.fraud import models
from paycore.fraud.rules import Policy
from paycore.fraud.service import Scored
from paycore.ids import Prefix
from paycore.runtime.messages import by_number_or_none, converts, derived, message_of
from paycore.v1 import fraud_pb2

BLOCKLIST_TYPES_BY_NUMBER = by_number_or_none(models.BlocklistType, fraud_pb2.BlocklistItemType)
REVIEW_STATUSES_BY_NUMBER = by_number_or_none(models.ReviewStatus, fraud_pb2.ReviewStatus)
OUTCOME_LABELS_BY_NUMBER = by_number_or_none(models.OutcomeLabel, fraud_pb2.OutcomeLabel)


_CLOSED_REASONS = {
    models.ReviewStatus.APPROVED: "approved",
    # Stripe's reason for a review whose payment was canceled: a rejection cancels it.
    models.ReviewStatus.REJECTED: "canceled",
}


@converts(fraud_pb2.Review)
def review_message(review: models.Review) -> fraud_pb2.Review:
    """paycore's review with Stripe's Review fields (`open`, `payment_intent`, `opened_reason`,
    `closed_reason`, `reason`) derived from it."""
    closed_reason = _CLOSED_REASONS.get(review.status, "")
    return message_of(
        fraud_pb2.Review,
        review,
        open=review.status is models.ReviewStatus.OPEN,
        payment_intent=(
            review.payment if review.payment.startswith(f"{Prefix.PAYMENT_INTENT}_") else ""
        ),
        opened_reason="rule",
        closed_reason=closed_reason,
        reason=closed_reason or "rule",
    )


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


@converts(fraud_pb2.ValueList)
def value_list_message(value_list: models.ValueList) -> fraud_pb2.ValueList:
    return message_of(
        fraud_pb2.ValueList,
        value_list,
        item_type=models.STRIPE_ITEM_TYPES[value_list.item_type],
        created_by="",
    )


@converts(fraud_pb2.ValueListItem)
def value_list_item_message(item: models.BlocklistItem) -> fraud_pb2.ValueListItem:
    """A blocklist item as the item of its value list (a default list's, when on none)."""
    default = f"{models.DEFAULT_LIST_PREFIX}{models.STRIPE_ITEM_TYPES[item.type]}"
    return message_of(
        fraud_pb2.ValueListItem, item, value_list=item.value_list or default, created_by=""
    )


early_fraud_warning_message = derived(models.EarlyFraudWarning, fraud_pb2.EarlyFraudWarning)


@converts(fraud_pb2.DeleteValueListResponse)
def deleted_list_message(list_id: str) -> fraud_pb2.DeleteValueListResponse:
    return fraud_pb2.DeleteValueListResponse(id=list_id, deleted=True)


@converts(fraud_pb2.DeleteValueListItemResponse)
def deleted_item_message(item_id: str) -> fraud_pb2.DeleteValueListItemResponse:
    return fraud_pb2.DeleteValueListItemResponse(id=item_id, deleted=True)
