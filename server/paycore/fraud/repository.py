"""Fraud rows on a merchant's shard. Every method takes the merchant id first and filters by it;
the two exceptions, named as such, are operators' lookups of a review or blocklist item by its id
(the id routes to the shard) and the platform-wide blocklist items (merchant "")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paycore.fraud.models import (
    PLATFORM,
    Assessment,
    BlocklistItem,
    BlocklistType,
    OutcomeLabel,
    Review,
    ReviewStatus,
)
from paycore.fraud.rules import (
    Policy,
    allow_from_json,
    allow_to_json,
    rules_from_json,
    rules_to_json,
)
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.reads import Cursor, Page, fetch_optional, fetch_page, matching
from paycore.storage.rows import Decoder, Encoder, epoch_seconds_or_zero
from paycore.storage.schema import (
    fraud_assessments,
    fraud_blocklist_items,
    fraud_policies,
    fraud_reviews,
    payment_intents,
)
from paycore.storage.statements import Insert
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

# One statement of a fixed shape for every payment (an absent value is "", which no item holds).
_MATCH_BLOCKLIST = """
SELECT type FROM fraud_blocklist_items
WHERE merchant_id IN ($1, $2) AND (type, value) IN (SELECT * FROM unnest($3::text[], $4::text[]))
"""


@dataclass(frozen=True)
class BlocklistValues:
    """What a payment could be blocked by ("" where it has no such value)."""

    card_fingerprint: str
    email: str
    ips: tuple[str, str]
    """The address the caller names, and the buyer's address as paycore saw it."""
    customer: str
    countries: tuple[str, str, str]
    """Billing, card and IP country."""


_encode_assessment: Encoder[Assessment] = Encoder(
    fraud_assessments,
    Assessment,
    skip=("label",),
    convert={"facts": jsonb, "features": jsonb},
)
"""An assessment as written when made (it is labelled later), as asyncpg takes it."""
# asyncpg (paycore.storage.raw), not Core: one is written for every payment scored, and Core's
# parameter processing of a batch cost more client CPU than its round trip.
_INSERT_ASSESSMENT = Insert(fraud_assessments, _encode_assessment.columns).sql
_encode_item: Encoder[BlocklistItem] = Encoder(fraud_blocklist_items, BlocklistItem)
"""A blocklist item's columns but its creation time (the database's now() by default)."""
_encode_review: Encoder[Review] = Encoder(fraud_reviews, Review)
_assessment: Decoder[Assessment] = Decoder(
    fraud_assessments,
    Assessment,
    columns={"labelled": "labelled_at"},
    convert={"labelled": epoch_seconds_or_zero},
)
_blocklist_item: Decoder[BlocklistItem] = Decoder(
    fraud_blocklist_items,
    BlocklistItem,
    columns={"created": "created_at"},
)
_review: Decoder[Review] = Decoder(
    fraud_reviews,
    Review,
    columns={"closed": "closed_at", "created": "created_at"},
    convert={"closed": epoch_seconds_or_zero},
    derive={"charge": lambda row: row.get("charge") or ""},
)
# A review's charge (Stripe's `review.charge`): its intent's latest charge, read with it (an
# insert's or close's returning row has none: a held payment is charged after the approval).
_review_charge = (
    select(payment_intents.c.psp_charge)
    .where(
        payment_intents.c.merchant_id == fraud_reviews.c.merchant_id,
        payment_intents.c.id == fraud_reviews.c.payment,
    )
    .scalar_subquery()
    .label("charge")
)
_REVIEWS = select(fraud_reviews, _review_charge)
_encode_policy: Encoder[Policy] = Encoder(
    fraud_policies,
    Policy,
    convert={"rules": rules_to_json, "allow": allow_to_json},
    skip=("updated",),
)
"""A policy's columns but its update time (the database's now())."""
_policy: Decoder[Policy] = Decoder(
    fraud_policies,
    Policy,
    columns={"updated": "updated_at"},
    convert={"rules": rules_from_json, "allow": allow_from_json},
)


async def insert_assessments(connection: AsyncConnection, assessments: list[Assessment]) -> None:
    """In the connection's transaction, or, on an autocommit connection, in one of their own
    (asyncpg runs an `executemany`'s rows all or none); several as one pipelined `executemany`
    (one round trip)."""
    driver = await driver_of(connection)
    await driver.executemany(_INSERT_ASSESSMENT, [_encode_assessment(a) for a in assessments])


@dataclass(frozen=True, slots=True)
class AssessmentRepository:
    _connection: AsyncConnection

    async def insert(self, assessment: Assessment) -> None:
        await insert_assessments(self._connection, [assessment])

    async def label(
        self, merchant_id: str, payment: str, label: OutcomeLabel, note: str
    ) -> Assessment | None:
        """Labels the payment's latest assessment; None when the payment was never scored."""
        latest = (
            select(fraud_assessments.c.id)
            .where(
                fraud_assessments.c.merchant_id == merchant_id,
                fraud_assessments.c.payment == payment,
            )
            .order_by(fraud_assessments.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await self._connection.execute(
                update(fraud_assessments)
                .where(
                    fraud_assessments.c.merchant_id == merchant_id,
                    fraud_assessments.c.id == latest,
                )
                .values(label=label.value, label_note=note, labelled_at=func.now())
                .returning(fraud_assessments)
            )
        ).one_or_none()
        return None if row is None else _assessment(row)


@dataclass(frozen=True, slots=True)
class BlocklistRepository:
    _connection: AsyncConnection

    async def add(self, item: BlocklistItem) -> BlocklistItem:
        """Adds the item, or returns the existing one with the same (merchant, type, value)."""
        await self._connection.execute(
            upsert(fraud_blocklist_items)
            .values(**_encode_item.mapping(item))
            .on_conflict_do_nothing()
        )
        row = (
            await self._connection.execute(
                select(fraud_blocklist_items).where(
                    fraud_blocklist_items.c.merchant_id == item.merchant_id,
                    fraud_blocklist_items.c.type == item.type.value,
                    fraud_blocklist_items.c.value == item.value,
                )
            )
        ).one()
        return _blocklist_item(row)

    async def copy(self, item: BlocklistItem, created: datetime) -> None:
        """A platform-wide item's copy on another physical shard (same id)."""
        await self._connection.execute(
            upsert(fraud_blocklist_items)
            .values(**_encode_item.mapping(item), created_at=created)
            .on_conflict_do_nothing()
        )

    async def get(self, merchant_id: str, item_id: str) -> tuple[BlocklistItem, datetime] | None:
        row = (
            await self._connection.execute(
                select(fraud_blocklist_items).where(
                    fraud_blocklist_items.c.merchant_id == merchant_id,
                    fraud_blocklist_items.c.id == item_id,
                )
            )
        ).one_or_none()
        return None if row is None else (_blocklist_item(row), row.created_at)

    async def remove(self, item_id: str) -> BlocklistItem | None:
        """By id alone (an operator's call; the id routes to the shard)."""
        row = (
            await self._connection.execute(
                delete(fraud_blocklist_items)
                .where(fraud_blocklist_items.c.id == item_id)
                .returning(fraud_blocklist_items)
            )
        ).one_or_none()
        return None if row is None else _blocklist_item(row)

    async def matches(self, merchant_id: str, values: BlocklistValues) -> list[BlocklistType]:
        """Which of the payment's values the merchant's or the platform's list holds."""
        driver = await driver_of(self._connection)  # every payment asks: asyncpg
        rows = await driver.fetch(
            _MATCH_BLOCKLIST,
            merchant_id,
            PLATFORM,
            [
                BlocklistType.CARD_FINGERPRINT.value,
                BlocklistType.EMAIL.value,
                *(BlocklistType.IP.value,) * 2,
                BlocklistType.CUSTOMER.value,
                *(BlocklistType.COUNTRY.value,) * 3,
            ],
            [
                values.card_fingerprint,
                values.email,
                *values.ips,
                values.customer,
                *values.countries[:3],
            ],
        )
        return [BlocklistType(row[0]) for row in rows]

    async def list(
        self,
        merchant_id: str | None,
        cursor: Cursor,
        kind: BlocklistType | None,
        value: str,
    ) -> Page[BlocklistItem]:
        """One shard's items: the merchant's, or (None) every item on this shard."""
        query = matching(fraud_blocklist_items, merchant_id=merchant_id, type=kind, value=value)
        return await fetch_page(
            self._connection, query, fraud_blocklist_items, cursor, _blocklist_item
        )


@dataclass(frozen=True, slots=True)
class ReviewRepository:
    _connection: AsyncConnection

    async def insert(self, review: Review) -> Review:
        """The review as stored (its creation time the database's)."""
        row = (
            await self._connection.execute(
                insert(fraud_reviews)
                .values({**_encode_review.mapping(review), "note": ""})
                .returning(fraud_reviews)
            )
        ).one()
        return _review(row)

    async def get(self, merchant_id: str | None, review_id: str) -> Review | None:
        query = _REVIEWS.where(fraud_reviews.c.id == review_id)
        if merchant_id is not None:
            query = query.where(fraud_reviews.c.merchant_id == merchant_id)
        return await fetch_optional(self._connection, query, _review)

    async def close(
        self, merchant_id: str | None, review_id: str, status: ReviewStatus, note: str
    ) -> Review | None:
        """Closes an open review; None when there is no open review with that id."""
        conditions = [fraud_reviews.c.id == review_id, fraud_reviews.c.status == "open"]
        if merchant_id is not None:
            conditions.append(fraud_reviews.c.merchant_id == merchant_id)
        row = (
            await self._connection.execute(
                update(fraud_reviews)
                .where(and_(*conditions))
                .values(status=status.value, note=note, closed_at=func.now())
                .returning(fraud_reviews)
            )
        ).one_or_none()
        return None if row is None else _review(row)

    async def list(
        self, merchant_id: str | None, cursor: Cursor, status: ReviewStatus | None
    ) -> Page[Review]:
        query = matching(fraud_reviews, merchant_id=merchant_id, status=status)
        return await fetch_page(
            self._connection, query.add_columns(_review_charge), fraud_reviews, cursor, _review
        )


@dataclass(frozen=True, slots=True)
class PolicyRepository:
    _connection: AsyncConnection

    async def get(self, merchant_id: str) -> Policy | None:
        row = (
            await self._connection.execute(
                select(fraud_policies).where(fraud_policies.c.merchant_id == merchant_id)
            )
        ).one_or_none()
        return None if row is None else _policy(row)

    async def put(self, merchant_id: str, policy: Policy) -> Policy:
        values = _encode_policy.mapping(policy)
        row = (
            await self._connection.execute(
                upsert(fraud_policies)
                .values(merchant_id=merchant_id, **values)
                .on_conflict_do_update(
                    index_elements=[fraud_policies.c.merchant_id],
                    set_={**values, "updated_at": func.now()},
                )
                .returning(fraud_policies)
            )
        ).one()
        return _policy(row)


__all__ = [
    "PLATFORM",
    "AssessmentRepository",
    "BlocklistRepository",
    "BlocklistValues",
    "PolicyRepository",
    "ReviewRepository",
    "insert_assessments",
]
