"""Fraud domain operations: scoring (counters, blocklists, rules, model), outcomes, reviews,
blocklists and policies. Mutations take the open transaction they run in (Mutations opens it);
the in-process entry points the payment flow calls (`score_payment`, `record_payment_outcome`,
`report_outcome`) open their own. Dataclasses in and out: the wire forms live in
paycore.fraud.servicer."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from paycore.account.repository import require_merchant
from paycore.errors import ApiError, Reason, invalid, not_found
from paycore.events import Recorder
from paycore.executor.breaker import Mode
from paycore.executor.modes import MerchantModes
from paycore.fraud.decision import allow_matches, decide
from paycore.fraud.early_warnings import EarlyFraudWarnings
from paycore.fraud.events import REVIEW_CLOSED, REVIEW_OPENED
from paycore.fraud.fanout import listed_newest_first
from paycore.fraud.features import NO_VELOCITY, PaymentFacts, feature_vector
from paycore.fraud.metrics import FraudMetrics
from paycore.fraud.model import Model
from paycore.fraud.models import (
    Assessment,
    BlocklistItem,
    BlocklistType,
    OutcomeLabel,
    Review,
    ReviewStatus,
)
from paycore.fraud.repository import (
    PLATFORM,
    AssessmentRepository,
    BlocklistRepository,
    BlocklistValues,
    PolicyRepository,
    ReviewRepository,
)
from paycore.fraud.rules import DEFAULT_POLICY, RULES_VERSION, Decision, Policy
from paycore.fraud.value_lists import LIST_FEATURE, ValueLists
from paycore.fraud.velocity import VelocityCounters
from paycore.fraud.writer import AssessmentWriter
from paycore.ids import Prefix, logical_shard_of, new_id, remembered_logical_shard_of
from paycore.invariants import invariant
from paycore.storage import Shards
from paycore.storage.locks import lock_until_commit
from paycore.storage.reads import Cursor, Page, Reads
from sqlalchemy.ext.asyncio import AsyncConnection

ReviewListener = Callable[[str, Review], Awaitable[None]]
POLICY_CACHE_TTL_MS = 2000
"""How long a process trusts a merchant's policy before reading it again (an update made in
this process is seen at once)."""


@dataclass(frozen=True)
class Scored:
    """A decided assessment, not yet stored."""

    assessment: Assessment
    decision: Decision
    review: str
    """The review id to open with it ("" unless the decision is REVIEW)."""
    started_ns: int


class FraudService:
    def __init__(
        self,
        shards: Shards,
        velocity: VelocityCounters,
        model: Model,
        metrics: FraudMetrics,
        review_events: Recorder[Review],
        review_listener: ReviewListener | None = None,
    ) -> None:
        """`review_events`: records review.opened / review.closed in the transaction that opens
        or closes the review. `review_listener`: called with (merchant id, closed review) after
        an ApproveReview / RejectReview committed (again on an idempotent replay)."""
        self.review_listener = review_listener
        self._review_events = review_events
        self._shards = shards
        self._velocity = velocity
        self._model = model
        self._metrics = metrics
        self._writer = AssessmentWriter(shards, metrics)
        self.model_version = f"rules-{RULES_VERSION}+{model.version}"
        self._policies: dict[str, tuple[int, Policy]] = {}
        self._modes = MerchantModes(shards)
        self.value_lists = ValueLists(shards)
        self.early_warnings = EarlyFraudWarnings(Reads(shards))
        """Radar value lists (paycore.fraud.value_lists), over the blocklist's store."""

    @property
    def model(self) -> Model:
        return self._model

    # -- scoring --------------------------------------------------------------------------

    async def score_payment(self, merchant_id: str, facts: PaymentFacts) -> Scored:
        """Scores the payment, records the assessment (and a review when the decision is
        REVIEW) and counts it in the velocity counters. Never raises because Redis is down."""
        invariant(facts.merchant == merchant_id, "facts scored for another merchant")
        async with self._shards.read(merchant_id) as connection:
            scored = await self.evaluate(connection, facts)
        # The answer does not wait for the assessment's write (paycore.fraud.writer), but a
        # review is written first: the payment flow acts on it.
        if scored.review or not self._writer.submit(scored.assessment):
            async with self._shards.transaction(merchant_id) as connection:
                scored = await self.record(connection, scored)
        return self._answered(scored)

    async def flush(self) -> None:
        """Waits until every assessment scored so far is stored."""
        await self._writer.flush()

    async def close(self) -> None:
        await self._writer.close()

    async def assess(self, connection: AsyncConnection, facts: PaymentFacts) -> Scored:
        """Scores and records the payment in the caller's transaction (ScorePayment over gRPC,
        inside its idempotent mutation)."""
        scored = await self.evaluate(connection, facts)
        return self._answered(await self.record(connection, scored))

    async def evaluate(self, connection: AsyncConnection, facts: PaymentFacts) -> Scored:
        """Counts the payment and decides; stores nothing."""
        started_ns = time.perf_counter_ns()
        policy = await self._policy(connection, facts.merchant)
        # Redis and PostgreSQL at the same time: the two round trips overlap.
        observed, matched = await asyncio.gather(
            self._velocity.observe(facts, facts.payment),
            BlocklistRepository(connection).matches(facts.merchant, _blocklist_values(facts)),
        )
        degraded = observed is None
        if degraded:
            self._metrics.degraded.labels(operation="score").inc()
        features, vector = feature_vector(facts, observed or NO_VELOCITY)
        model_score = self._model.score(vector)
        test_card = ""
        if facts.test_card and await self._modes.of(facts.merchant, connection) is Mode.TEST:
            test_card = facts.test_card
        score = min(max(round(model_score.probability * 1000), 0), 1000)
        # A value list a rule names is a condition's feature (`@alias`: on the list or not),
        # for the rules alone: the model never sees it.
        listed = {f"{LIST_FEATURE}{alias}": 1 for alias in matched.listed}
        verdict = decide(
            policy,
            {**features, **listed} if listed else features,
            matched.blocked,
            score,
            model_score.top_features,
            degraded,
            allowed=allow_matches(policy, facts),
            test_card=test_card,
        )
        logical_shard = remembered_logical_shard_of(facts.merchant, Prefix.ACCOUNT)
        assessment = Assessment(
            id=new_id(Prefix.RISK_ASSESSMENT, logical_shard),
            merchant_id=facts.merchant,
            payment=facts.payment,
            score=score,
            decision=verdict.decision.code,
            reasons=tuple(verdict.reasons),
            model_version=self.model_version,
            generator_seed=self._model.generator_seed,
            degraded=degraded,
            amount=facts.amount,
            currency=facts.currency,
            facts=facts.as_dict(),
            features=features,
            label=None,
            labelled=0,
        )
        review = ""
        if verdict.decision is Decision.REVIEW:
            review = new_id(Prefix.REVIEW, logical_shard)
        return Scored(assessment, verdict.decision, review, started_ns)

    async def record(self, connection: AsyncConnection, scored: Scored) -> Scored:
        """Stores the assessment and opens its review; a payment has at most one open review,
        so scoring it again while one is open (a retried call) answers that review."""
        await AssessmentRepository(connection).insert(scored.assessment)
        if not scored.review:
            return scored
        assessment, reviews = scored.assessment, ReviewRepository(connection)
        await lock_until_commit(
            connection, f"fraud_review:{assessment.merchant_id}:{assessment.payment}"
        )
        open_review = await reviews.open_for_payment(assessment.merchant_id, assessment.payment)
        if open_review is not None:
            return replace(scored, review=open_review)
        opened = await reviews.insert(_open_review(scored.review, assessment))
        await self._review_events.record(connection, REVIEW_OPENED, opened)
        return scored

    def _answered(self, scored: Scored) -> Scored:
        self._metrics.decisions.labels(decision=scored.assessment.decision).inc()
        self._metrics.scoring_seconds.observe((time.perf_counter_ns() - scored.started_ns) / 1e9)
        return scored

    async def record_payment_outcome(
        self,
        merchant_id: str,
        facts: PaymentFacts,
        *,
        succeeded: bool,
        decline_code: str = "",
    ) -> None:
        """Feeds the decline counters once the PSP answered (every decline counts the same,
        whatever its code). Never raises because Redis is down (the miss is counted in
        paycore_fraud_degraded_total)."""
        invariant(facts.merchant == merchant_id, "an outcome recorded for another merchant")
        if succeeded:
            return
        facts = replace(facts, timestamp_ms=_now_ms())
        if not await self._velocity.record_decline(facts, facts.payment):
            self._metrics.degraded.labels(operation="outcome").inc()

    # -- outcomes and reviews -------------------------------------------------------------

    async def report_outcome(
        self, merchant_id: str, payment: str, label: OutcomeLabel, note: str
    ) -> Assessment:
        """In-process form of ReportOutcome (a chargeback calls it): its own transaction."""
        await self._writer.flush()  # an assessment scored a moment ago is labelled too
        async with self._shards.transaction(merchant_id) as connection:
            labelled = await self.label(connection, merchant_id, payment, label, note)
        await self.count_outcome(labelled)
        return labelled

    async def label(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        payment: str,
        label: OutcomeLabel,
        note: str,
    ) -> Assessment:
        """Labels the payment's latest assessment: the next training's row."""
        labelled = await AssessmentRepository(connection).label(merchant_id, payment, label, note)
        if labelled is None:
            raise not_found("assessment for payment", payment, param="payment")
        return labelled

    async def count_outcome(self, labelled: Assessment) -> None:
        """A confirmed fraud counts as a decline of its card, customer, IP and merchant, so
        the next attempts with them score higher; a legitimate label (an approved review, a
        fraud label corrected) takes that decline back, if it was counted."""
        facts = replace(PaymentFacts(**labelled.facts), timestamp_ms=_now_ms())  # type: ignore[arg-type]
        member = f"{labelled.payment}:fraud"
        if labelled.label == OutcomeLabel.FRAUDULENT.value:
            counted = await self._velocity.record_decline(facts, member)
        else:
            counted = await self._velocity.withdraw_decline(facts, member)
        if not counted:
            self._metrics.degraded.labels(operation="outcome").inc()

    async def close_review(
        self,
        connection: AsyncConnection,
        merchant_id: str | None,
        review_id: str,
        status: ReviewStatus,
        note: str,
    ) -> tuple[Review, Assessment | None]:
        """Closes an open review and labels its payment; returns the review and the labelled
        assessment (for `count_outcome` once committed)."""
        reviews = ReviewRepository(connection)
        closed = await reviews.close(merchant_id, review_id, status, note)
        if closed is None:
            existing = await reviews.get(merchant_id, review_id)
            if existing is None:
                raise not_found("review", review_id)
            raise ApiError(
                Reason.REVIEW_CLOSED, param="id", id=review_id, status=existing.status.value
            )
        await self._review_events.record(connection, REVIEW_CLOSED, closed)
        label = (
            OutcomeLabel.LEGITIMATE if status is ReviewStatus.APPROVED else OutcomeLabel.FRAUDULENT
        )
        labelled = await AssessmentRepository(connection).label(
            closed.merchant_id, closed.payment, label, note
        )
        return closed, labelled

    async def review_closed(self, review: Review) -> None:
        """After the closing transaction committed: tells the payment flow."""
        if self.review_listener is not None:
            await self.review_listener(review.merchant_id, review)

    async def get_review(self, merchant_id: str | None, review_id: str) -> Review:
        async with self._shards.read_logical(logical_shard_of(review_id, Prefix.REVIEW)) as c:
            review = await ReviewRepository(c).get(merchant_id, review_id)
        if review is None:
            raise not_found("review", review_id)
        return review

    async def list_reviews(
        self, merchant_id: str | None, cursor: Cursor, status: ReviewStatus | None
    ) -> Page[Review]:
        """One merchant's reviews from its shard, or every merchant's from every shard."""

        def read(connection: AsyncConnection) -> Awaitable[Page[Review]]:
            return ReviewRepository(connection).list(merchant_id, cursor, status)

        return await listed_newest_first(self._shards, merchant_id, cursor, read)

    # -- blocklists -----------------------------------------------------------------------

    async def add_blocklist_item(
        self,
        connection: AsyncConnection,
        merchant_id: str,
        item_type: BlocklistType,
        value: str,
        reason: str,
        metadata: dict[str, str],
        value_list: str = "",
    ) -> BlocklistItem:
        """`value_list`: the Radar value list it is on ("" for the blocklist itself)."""
        if merchant_id != PLATFORM:
            await require_merchant(connection, merchant_id)
        logical_shard = (
            0 if merchant_id == PLATFORM else logical_shard_of(merchant_id, Prefix.ACCOUNT)
        )
        draft = BlocklistItem(
            id=new_id(Prefix.BLOCKLIST_ITEM, logical_shard),
            merchant_id=merchant_id,
            type=item_type,
            value=value,
            reason=reason,
            metadata=metadata,
            created=0,
            value_list=value_list,
        )
        return await BlocklistRepository(connection).add(draft)

    async def copy_platform_item(self, item_id: str) -> None:
        """A platform-wide item lives on every physical shard, so that scoring finds it with
        the merchant's own items in one query. Idempotent: a retried add completes the copies."""
        primary = self._shards.home
        async with primary.connect() as connection:
            found = await BlocklistRepository(connection).get(PLATFORM, item_id)
        if found is None:
            return
        item, created = found
        for engine in self._shards.engines:
            if engine is not primary:
                async with engine.begin() as connection:
                    await BlocklistRepository(connection).copy(item, created)

    async def remove_blocklist_item(
        self, connection: AsyncConnection, item_id: str
    ) -> BlocklistItem:
        """On the shard the id routes to (a platform-wide item's first copy)."""
        removed = await BlocklistRepository(connection).remove(item_id)
        if removed is None:
            raise not_found("blocklist_item", item_id)
        return removed

    async def remove_platform_copies(self, item_id: str) -> None:
        primary = self._shards.engine_for_logical(logical_shard_of(item_id, Prefix.BLOCKLIST_ITEM))
        for engine in self._shards.engines:
            if engine is not primary:
                async with engine.begin() as connection:
                    await BlocklistRepository(connection).remove(item_id)

    async def list_blocklist_items(
        self,
        merchant_id: str | None,
        cursor: Cursor,
        item_type: BlocklistType | None,
        value: str,
    ) -> Page[BlocklistItem]:
        def read(connection: AsyncConnection) -> Awaitable[Page[BlocklistItem]]:
            return BlocklistRepository(connection).list(merchant_id, cursor, item_type, value)

        return await listed_newest_first(self._shards, merchant_id, cursor, read)

    # -- policies -------------------------------------------------------------------------

    async def get_policy(self, merchant_id: str) -> Policy:
        async with self._shards.read(merchant_id) as connection:
            return await PolicyRepository(connection).get(merchant_id) or DEFAULT_POLICY

    async def put_policy(
        self, connection: AsyncConnection, merchant_id: str, policy: Policy
    ) -> Policy:
        """INVALID naming the condition's feature when a rule names a value list (`@alias`)
        the merchant has not."""
        aliases = await self.value_lists.aliases(connection, merchant_id)
        for index, rule in enumerate(policy.rules):
            for position, condition in enumerate(rule.conditions):
                alias = condition.feature.removeprefix(LIST_FEATURE)
                if condition.feature.startswith(LIST_FEATURE) and alias not in aliases:
                    raise invalid(
                        f"rules[{index}].conditions[{position}].feature",
                        f"names no value list of the merchant's ({alias[:40]!r})",
                    )
        stored = await PolicyRepository(connection).put(merchant_id, policy)
        self._policies.pop(merchant_id, None)
        return stored

    def forget_policy(self, merchant_id: str) -> None:
        self._policies.pop(merchant_id, None)

    async def _policy(self, connection: AsyncConnection, merchant_id: str) -> Policy:
        now_ms = _monotonic_ms()
        cached = self._policies.get(merchant_id)
        if cached is not None and cached[0] > now_ms:
            return cached[1]
        policy = await PolicyRepository(connection).get(merchant_id) or DEFAULT_POLICY
        if len(self._policies) > 10_000:
            self._policies.clear()
        self._policies[merchant_id] = (now_ms + POLICY_CACHE_TTL_MS, policy)
        return policy


def _blocklist_values(facts: PaymentFacts) -> BlocklistValues:
    return BlocklistValues(
        card_fingerprint=facts.card_fingerprint,
        email=facts.email,
        ips=(facts.ip, _canonical_address(facts.client_ip)),
        customer=facts.customer,
        countries=(facts.country, facts.card_country, facts.ip_country),
    )


def _canonical_address(address: str) -> str:
    """An observed address in the blocklist's canonical text form ("" when not an address):
    an IPv4 address reached over IPv6 (::ffff:a.b.c.d) as the IPv4 address itself."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    mapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else None
    return str(mapped or parsed)


def _open_review(review_id: str, assessment: Assessment) -> Review:
    return Review(
        id=review_id,
        merchant_id=assessment.merchant_id,
        payment=assessment.payment,
        assessment_id=assessment.id,
        status=ReviewStatus.OPEN,
        score=assessment.score,
        reasons=assessment.reasons,
        amount=assessment.amount,
        currency=assessment.currency,
        note="",
        closed=0,
        created=0,
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


__all__ = ["FraudService", "ReviewListener", "Scored"]
