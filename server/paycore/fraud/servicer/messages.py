"""Domain objects -> paycore.v1 fraud messages."""

from __future__ import annotations

from paycore.fraud.models import (
    Assessment,
    BlocklistItem,
    BlocklistType,
    OutcomeLabel,
    Review,
    ReviewStatus,
)
from paycore.fraud.rules import Policy
from paycore.fraud.service import Scored
from paycore.v1 import fraud_pb2

BLOCKLIST_TYPES = {
    BlocklistType.CARD_FINGERPRINT: fraud_pb2.BLOCKLIST_ITEM_TYPE_CARD_FINGERPRINT,
    BlocklistType.EMAIL: fraud_pb2.BLOCKLIST_ITEM_TYPE_EMAIL,
    BlocklistType.IP: fraud_pb2.BLOCKLIST_ITEM_TYPE_IP,
    BlocklistType.CUSTOMER: fraud_pb2.BLOCKLIST_ITEM_TYPE_CUSTOMER,
    BlocklistType.COUNTRY: fraud_pb2.BLOCKLIST_ITEM_TYPE_COUNTRY,
}
BLOCKLIST_TYPES_BY_NUMBER: dict[int, BlocklistType | None] = {
    fraud_pb2.BLOCKLIST_ITEM_TYPE_UNSPECIFIED: None,
    **{number: kind for kind, number in BLOCKLIST_TYPES.items()},
}
REVIEW_STATUSES = {
    ReviewStatus.OPEN: fraud_pb2.REVIEW_STATUS_OPEN,
    ReviewStatus.APPROVED: fraud_pb2.REVIEW_STATUS_APPROVED,
    ReviewStatus.REJECTED: fraud_pb2.REVIEW_STATUS_REJECTED,
}
REVIEW_STATUSES_BY_NUMBER: dict[int, ReviewStatus | None] = {
    fraud_pb2.REVIEW_STATUS_UNSPECIFIED: None,
    **{number: status for status, number in REVIEW_STATUSES.items()},
}
OUTCOME_LABELS = {
    OutcomeLabel.FRAUDULENT: fraud_pb2.OUTCOME_LABEL_FRAUDULENT,
    OutcomeLabel.LEGITIMATE: fraud_pb2.OUTCOME_LABEL_LEGITIMATE,
}
OUTCOME_LABELS_BY_NUMBER: dict[int, OutcomeLabel | None] = {
    fraud_pb2.OUTCOME_LABEL_UNSPECIFIED: None,
    **{number: label for label, number in OUTCOME_LABELS.items()},
}


def review_message(review: Review) -> fraud_pb2.Review:
    return fraud_pb2.Review(
        id=review.id,
        merchant=review.merchant_id,
        payment=review.payment,
        status=REVIEW_STATUSES[review.status],
        score=review.score,
        reasons=review.reasons,
        amount=review.amount,
        currency=review.currency,
        note=review.note,
        closed=review.closed,
        created=review.created,
    )


def blocklist_item_message(item: BlocklistItem) -> fraud_pb2.BlocklistItem:
    return fraud_pb2.BlocklistItem(
        id=item.id,
        type=BLOCKLIST_TYPES[item.type],
        value=item.value,
        merchant=item.merchant_id,
        reason=item.reason,
        created=item.created,
        metadata=item.metadata,
    )


def outcome_message(assessment: Assessment) -> fraud_pb2.ReportOutcomeResponse:
    label = OutcomeLabel(assessment.label)
    return fraud_pb2.ReportOutcomeResponse(
        payment=assessment.payment, label=OUTCOME_LABELS[label], reported=assessment.labelled
    )


def policy_message(merchant_id: str, policy: Policy) -> fraud_pb2.RiskPolicy:
    return fraud_pb2.RiskPolicy(
        merchant=merchant_id,
        review_above=policy.review_above,
        block_above=policy.block_above,
        rules=[
            fraud_pb2.RiskRule(
                name=rule.name,
                conditions=[
                    fraud_pb2.RiskCondition(feature=condition.feature, above=condition.above)
                    for condition in rule.conditions
                ],
                action=int(rule.action),  # type: ignore[arg-type]
            )
            for rule in policy.rules
        ],
        degraded_review_above_usd=policy.degraded_review_above_usd,
        updated=policy.updated,
        allow=[
            fraud_pb2.AllowListItem(type=BLOCKLIST_TYPES[item.type], value=item.value)
            for item in policy.allow
        ],
    )


def assessment_message(scored: Scored) -> fraud_pb2.RiskAssessment:
    assessment = scored.assessment
    return fraud_pb2.RiskAssessment(
        score=assessment.score,
        decision=int(scored.decision),  # type: ignore[arg-type]
        reasons=assessment.reasons,
        review=scored.review,
        model_version=assessment.model_version,
    )
