"""Reviews, outcome labels, platform-wide blocklists and policies through gRPC, against real
PostgreSQL (two shards) and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
import pytest_asyncio
from grpc import aio
from paycore.app import Platform
from paycore.client import Paycore
from paycore.fraud.models import Review, ReviewStatus
from paycore.fraud.rules import DEFAULT_RULES
from paycore.storage.schema import fraud_assessments, fraud_blocklist_items
from paycore.v1 import fraud_pb2
from sqlalchemy import select

from tests.fraud.support import REVIEW_EVERYTHING, again, fingerprint, returning_customer
from tests.fraud.support import in_process as in_process_facts
from tests.helpers import MerchantFixture, rich_error

OperatorFor = Callable[[str | None], Paycore]


@pytest_asyncio.fixture
async def closed_reviews(platform: Platform) -> AsyncIterator[list[tuple[str, Review]]]:
    """What the review listener heard during the test."""
    heard: list[tuple[str, Review]] = []

    async def listener(merchant_id: str, review: Review) -> None:
        heard.append((merchant_id, review))

    platform.fraud.review_listener = listener
    yield heard
    platform.fraud.review_listener = None


async def _reviewed(merchant: MerchantFixture, operator: Paycore) -> fraud_pb2.RiskAssessment:
    await operator.fraud.UpdateRiskPolicy(REVIEW_EVERYTHING)
    assessment = await merchant.client.fraud.ScorePayment(returning_customer(merchant.merchant.id))
    assert assessment.decision == fraud_pb2.RISK_DECISION_REVIEW
    assert assessment.reasons[0] == "review_everything"
    return assessment


async def _label(platform: Platform, merchant_id: str, payment: str) -> str | None:
    async with platform.shards.read(merchant_id) as connection:
        label: str | None = (
            await connection.execute(
                select(fraud_assessments.c.label).where(
                    fraud_assessments.c.merchant_id == merchant_id,
                    fraud_assessments.c.payment == payment,
                )
            )
        ).scalar_one()
    return label


async def test_approve_and_reject_close_reviews_label_payments_and_tell_the_listener(
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
    admin_client_for: OperatorFor,
    closed_reviews: list[tuple[str, Review]],
    platform: Platform,
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    first = await _reviewed(merchant, operator)
    second = await _reviewed(merchant, operator)
    elsewhere = await _reviewed(other_merchant, admin_client_for(other_merchant.merchant.id))
    anyone = admin_client_for(None)

    review = await anyone.fraud.GetReview(fraud_pb2.GetReviewRequest(id=first.review))
    assert review.status == fraud_pb2.REVIEW_STATUS_OPEN
    assert (review.merchant, review.score) == (merchant.merchant.id, first.score)
    mine = await anyone.fraud.ListReviews(
        fraud_pb2.ListReviewsRequest(merchant=merchant.merchant.id, limit=1)
    )
    assert [r.id for r in mine.data] == [second.review] and mine.has_more
    everyone = await anyone.fraud.ListReviews(
        fraud_pb2.ListReviewsRequest(status=fraud_pb2.REVIEW_STATUS_OPEN, limit=100)
    )
    assert {first.review, second.review, elsewhere.review} <= {r.id for r in everyone.data}

    approved = await anyone.fraud.ApproveReview(
        fraud_pb2.ApproveReviewRequest(id=first.review, note="called the customer")
    )
    rejected = await anyone.fraud.RejectReview(fraud_pb2.RejectReviewRequest(id=second.review))
    assert approved.status == fraud_pb2.REVIEW_STATUS_APPROVED and approved.closed > 0
    assert approved.note == "called the customer"
    assert rejected.status == fraud_pb2.REVIEW_STATUS_REJECTED
    assert [(m, r.id, r.status, r.note) for m, r in closed_reviews] == [
        (merchant.merchant.id, approved.id, ReviewStatus.APPROVED, "called the customer"),
        (merchant.merchant.id, rejected.id, ReviewStatus.REJECTED, ""),
    ]
    assert await _label(platform, merchant.merchant.id, approved.payment) == "legitimate"
    assert await _label(platform, merchant.merchant.id, rejected.payment) == "fraudulent"

    with pytest.raises(aio.AioRpcError) as raised:
        await anyone.fraud.RejectReview(fraud_pb2.RejectReviewRequest(id=first.review))
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(raised.value).reason == "REVIEW_CLOSED"
    # An operator acting for another merchant does not see this merchant's review.
    with pytest.raises(aio.AioRpcError) as hidden:
        await admin_client_for(other_merchant.merchant.id).fraud.GetReview(
            fraud_pb2.GetReviewRequest(id=first.review)
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    # A merchant's key lists its own reviews (Stripe's GET /v1/reviews), never another's, and
    # rejects none (RejectReview is the operators').
    own = await merchant.client.fraud.ListReviews(fraud_pb2.ListReviewsRequest())
    assert [r.id for r in own.data] == [second.review, first.review]
    with pytest.raises(aio.AioRpcError) as denied:
        await other_merchant.client.fraud.ListReviews(
            fraud_pb2.ListReviewsRequest(merchant=merchant.merchant.id)
        )
    # Another merchant's account is not the caller's to know of: missing, as any object of
    # another merchant's named by a field (INVALID_ARGUMENT, RESOURCE_MISSING).
    assert denied.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (rich_error(denied.value).reason, rich_error(denied.value).param) == (
        "RESOURCE_MISSING",
        "merchant",
    )
    with pytest.raises(aio.AioRpcError) as hidden_from_merchant:
        await other_merchant.client.fraud.GetReview(fraud_pb2.GetReviewRequest(id=first.review))
    assert hidden_from_merchant.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(aio.AioRpcError) as operators_only:
        await merchant.client.fraud.RejectReview(fraud_pb2.RejectReviewRequest(id=first.review))
    assert operators_only.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(closed_reviews) == 2


async def test_a_reported_fraud_is_labelled_and_counts_against_its_card(
    merchant: MerchantFixture, admin_client_for: OperatorFor, platform: Platform
) -> None:
    merchant_id = merchant.merchant.id
    operator = admin_client_for(merchant_id)
    request = returning_customer(merchant_id)
    await merchant.client.fraud.ScorePayment(request)
    reported = await operator.fraud.ReportOutcome(
        fraud_pb2.ReportOutcomeRequest(
            payment=request.payment, label=fraud_pb2.OUTCOME_LABEL_FRAUDULENT, note="chargeback"
        )
    )
    assert reported.label == fraud_pb2.OUTCOME_LABEL_FRAUDULENT and reported.reported > 0
    assert await _label(platform, merchant_id, request.payment) == "fraudulent"
    following = again(request, merchant_id)
    await merchant.client.fraud.ScorePayment(following)
    async with platform.shards.read(merchant_id) as connection:
        features = (
            await connection.execute(
                select(fraud_assessments.c.features).where(
                    fraud_assessments.c.merchant_id == merchant_id,
                    fraud_assessments.c.payment == following.payment,
                )
            )
        ).scalar_one()
    assert features["card_declines_1h"] == 1 and features["card_attempts_1h"] == 2

    with pytest.raises(aio.AioRpcError) as unknown:
        await operator.fraud.ReportOutcome(
            fraud_pb2.ReportOutcomeRequest(
                payment=again(request, merchant_id).payment,
                label=fraud_pb2.OUTCOME_LABEL_LEGITIMATE,
            )
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(aio.AioRpcError) as unlabelled:
        await operator.fraud.ReportOutcome(fraud_pb2.ReportOutcomeRequest(payment=request.payment))
    assert rich_error(unlabelled.value).param == "label"


async def test_a_platform_wide_block_reaches_every_shard_and_is_removed_from_every_shard(
    merchant: MerchantFixture,
    other_merchant: MerchantFixture,
    admin_client_for: OperatorFor,
    platform: Platform,
) -> None:
    operator = admin_client_for(None)
    address = "192.0.2.55"
    item = await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP, value=address, reason="botnet"
        )
    )
    assert item.merchant == ""
    same = await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP, value=address)
    )
    assert same.id == item.id
    for engine in platform.shards.engines:
        async with engine.connect() as connection:
            ids = (
                await connection.execute(
                    select(fraud_blocklist_items.c.id).where(
                        fraud_blocklist_items.c.merchant_id == "",
                        fraud_blocklist_items.c.value == address,
                    )
                )
            ).scalars()
            assert list(ids) == [item.id]
    for fixture in (merchant, other_merchant):
        scored = await fixture.client.fraud.ScorePayment(
            returning_customer(fixture.merchant.id, ip=address)
        )
        assert scored.decision == fraud_pb2.RISK_DECISION_BLOCK
        assert scored.reasons[0] == "blocklisted_ip"
    listed = await operator.fraud.ListBlocklistItems(
        fraud_pb2.ListBlocklistItemsRequest(type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP, value=address)
    )
    assert [listed_item.id for listed_item in listed.data] == [item.id]

    removed = await operator.fraud.RemoveBlocklistItem(
        fraud_pb2.RemoveBlocklistItemRequest(id=item.id)
    )
    assert removed.deleted
    for fixture in (merchant, other_merchant):
        scored = await fixture.client.fraud.ScorePayment(
            returning_customer(fixture.merchant.id, ip=address)
        )
        assert "blocklisted_ip" not in scored.reasons
    with pytest.raises(aio.AioRpcError) as gone:
        await operator.fraud.RemoveBlocklistItem(fraud_pb2.RemoveBlocklistItemRequest(id=item.id))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_policy_thresholds_are_per_merchant_and_checked(
    merchant: MerchantFixture, other_merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    strict = await operator.fraud.UpdateRiskPolicy(
        fraud_pb2.UpdateRiskPolicyRequest(review_above=1, block_above=2)
    )
    assert (strict.review_above, strict.block_above) == (1, 2)
    assert [rule.name for rule in strict.rules] == [rule.name for rule in DEFAULT_RULES]
    elsewhere = await admin_client_for(other_merchant.merchant.id).fraud.GetRiskPolicy(
        fraud_pb2.GetRiskPolicyRequest()
    )
    assert (elsewhere.review_above, elsewhere.block_above, elsewhere.updated) == (500, 800, 0)
    for bad, param in (
        (fraud_pb2.UpdateRiskPolicyRequest(review_above=900, block_above=800), "block_above"),
        (fraud_pb2.UpdateRiskPolicyRequest(review_above=1001), "review_above"),
        (
            fraud_pb2.UpdateRiskPolicyRequest(
                rules=[fraud_pb2.RiskRule(name="Bad Name", action=fraud_pb2.RISK_DECISION_BLOCK)]
            ),
            "rules[0].name",
        ),
        (
            fraud_pb2.UpdateRiskPolicyRequest(
                rules=[
                    fraud_pb2.RiskRule(
                        name="no_action",
                        conditions=[fraud_pb2.RiskCondition(feature="ip_attempts_1m", above=3)],
                    )
                ]
            ),
            "rules[0].action",
        ),
        (
            fraud_pb2.UpdateRiskPolicyRequest(
                rules=[
                    fraud_pb2.RiskRule(
                        name="twice",
                        conditions=[fraud_pb2.RiskCondition(feature="ip_attempts_1m", above=3)],
                        action=fraud_pb2.RISK_DECISION_BLOCK,
                    )
                ]
                * 2
            ),
            "rules[1].name",
        ),
    ):
        with pytest.raises(aio.AioRpcError) as raised:
            await operator.fraud.UpdateRiskPolicy(bad)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rich_error(raised.value).param == param


async def test_thresholds_set_alone_keep_the_default_rules(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    """An operator who only moves a merchant's thresholds (issue 5: "configurable per
    merchant") keeps the default rules: an empty rule list means the defaults, as a 0 threshold
    does, and never silently drops card-testing and large-purchase protection. Before, issue
    18's guest paying US$9,500 from Romania on a new US card was then allowed."""
    operator = admin_client_for(merchant.merchant.id)
    updated = await operator.fraud.UpdateRiskPolicy(
        fraud_pb2.UpdateRiskPolicyRequest(review_above=600)
    )
    assert updated.review_above == 600
    assert [rule.name for rule in updated.rules] == [rule.name for rule in DEFAULT_RULES]
    read = await operator.fraud.GetRiskPolicy(fraud_pb2.GetRiskPolicyRequest())
    assert [rule.name for rule in read.rules] == [rule.name for rule in DEFAULT_RULES]
    guest_abroad = returning_customer(
        merchant.merchant.id,
        amount=950_000,
        customer="",
        customer_created=0,
        ip_country="RO",
        email="first.time@gmail.com",
    )
    scored = await merchant.client.fraud.ScorePayment(guest_abroad)
    assert scored.decision == fraud_pb2.RISK_DECISION_REVIEW
    assert "large_first_purchase_abroad" in scored.reasons


async def test_blocklist_listing_finds_an_item_by_the_value_as_it_was_added(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    """Items are stored canonical (emails lowercased, IPs compressed); the listing's `value`
    filter is read the same way, so the operator who added "Evil.Buyer@Example.com" finds it
    by what was typed. Before, the filter compared the raw text and found nothing."""
    operator = admin_client_for(merchant.merchant.id)
    email = f"Evil.Buyer.{merchant.merchant.id[-6:]}@Example.com"
    added = await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_EMAIL, value=email, merchant=merchant.merchant.id
        )
    )
    address = await operator.fraud.AddBlocklistItem(
        fraud_pb2.AddBlocklistItemRequest(
            type=fraud_pb2.BLOCKLIST_ITEM_TYPE_IP,
            value="2001:DB8:0:0::7",
            merchant=merchant.merchant.id,
        )
    )
    for request in (
        fraud_pb2.ListBlocklistItemsRequest(type=fraud_pb2.BLOCKLIST_ITEM_TYPE_EMAIL, value=email),
        fraud_pb2.ListBlocklistItemsRequest(value=email.upper()),
    ):
        listed = await operator.fraud.ListBlocklistItems(request)
        assert [item.id for item in listed.data] == [added.id], request
    for value in ("2001:db8::7", "2001:0DB8:0000::0007"):
        listed = await operator.fraud.ListBlocklistItems(
            fraud_pb2.ListBlocklistItemsRequest(value=value)
        )
        assert [item.id for item in listed.data] == [address.id], value


async def test_scoring_a_payment_again_while_its_review_is_open_opens_no_second_review(
    merchant: MerchantFixture, admin_client_for: OperatorFor, platform: Platform
) -> None:
    """A retried ScorePayment (no Idempotency-Key: a timeout, a redeploy) of a payment held for
    review answers the review already open, in process too; before, each call opened another
    review of the same payment, which an operator could approve and another reject."""
    operator = admin_client_for(merchant.merchant.id)
    first = await _reviewed(merchant, operator)
    retried = await merchant.client.fraud.ScorePayment(
        returning_customer(merchant.merchant.id, payment=first.payment)
    )
    assert retried.decision == fraud_pb2.RISK_DECISION_REVIEW
    assert retried.review == first.review
    in_process = await platform.fraud.score_payment(
        merchant.merchant.id,
        in_process_facts(
            merchant.merchant.id, returning_customer(merchant.merchant.id, payment=first.payment)
        ),
    )
    assert in_process.review == first.review
    reviews = await operator.fraud.ListReviews(fraud_pb2.ListReviewsRequest(limit=100))
    assert [review.id for review in reviews.data if review.payment == first.payment] == [
        first.review
    ]
    # Concurrent scorings of a new payment open one review between them.
    racing = returning_customer(merchant.merchant.id)
    raced = await asyncio.gather(*(merchant.client.fraud.ScorePayment(racing) for _ in range(6)))
    assert len({assessment.review for assessment in raced}) == 1, raced
    # Once closed, the payment scored again is a new question: a new review.
    await operator.fraud.RejectReview(fraud_pb2.RejectReviewRequest(id=first.review))
    later = await merchant.client.fraud.ScorePayment(
        returning_customer(merchant.merchant.id, payment=first.payment)
    )
    assert later.review and later.review != first.review


async def test_a_fraud_label_corrected_to_legitimate_takes_its_decline_back(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    """ReportOutcome fraudulent counts a decline of the card, customer, IP and merchant; the
    same payment relabelled legitimate (a mistaken label, a chargeback won) withdraws it.
    Before, the corrected labels kept the card blocked (`card_declines_1h`) and every first
    purchase at the merchant blocked (`merchant_decline_burst`) for the rest of the hour."""
    merchant_id, operator = merchant.merchant.id, admin_client_for(merchant.merchant.id)
    card = fingerprint()
    labelled = []
    for _ in range(6):
        scored = await merchant.client.fraud.ScorePayment(
            returning_customer(merchant_id, card_fingerprint=card)
        )
        labelled.append(scored.payment)
        await operator.fraud.ReportOutcome(
            fraud_pb2.ReportOutcomeRequest(
                payment=scored.payment, label=fraud_pb2.OUTCOME_LABEL_FRAUDULENT
            )
        )
    blocked = await merchant.client.fraud.ScorePayment(
        returning_customer(merchant_id, card_fingerprint=card)
    )
    assert blocked.decision == fraud_pb2.RISK_DECISION_BLOCK
    assert "card_declines_1h" in blocked.reasons
    for payment in labelled:
        await operator.fraud.ReportOutcome(
            fraud_pb2.ReportOutcomeRequest(
                payment=payment, label=fraud_pb2.OUTCOME_LABEL_LEGITIMATE
            )
        )
    allowed = await merchant.client.fraud.ScorePayment(
        returning_customer(merchant_id, card_fingerprint=card)
    )
    assert {"card_declines_1h", "merchant_decline_burst"}.isdisjoint(allowed.reasons), allowed
    assert allowed.decision == fraud_pb2.RISK_DECISION_ALLOW, allowed
