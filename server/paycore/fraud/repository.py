"""Fraud rows on a merchant's shard. Every method takes the merchant id first and filters by it;
the two exceptions, named as such, are operators' lookups of a review or blocklist item by its id
(the id routes to the shard) and the platform-wide blocklist items (merchant "")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from paycore.fraud.models import (
    DEFAULT_LIST_PREFIX,
    PLATFORM,
    STRIPE_ITEM_TYPES,
    Assessment,
    BlocklistItem,
    BlocklistType,
    EarlyFraudWarning,
    OutcomeLabel,
    Review,
    ReviewStatus,
    ValueList,
)
from paycore.fraud.rules import (
    Policy,
    allow_from_json,
    allow_to_json,
    rules_from_json,
    rules_to_json,
)
from paycore.storage.keys import merchant_row
from paycore.storage.raw import driver_of, jsonb
from paycore.storage.reads import Cursor, Kind, Page, fetch_optional, fetch_page, matching
from paycore.storage.rows import Decoder, Encoder, epoch_seconds_or_zero
from paycore.storage.schema import (
    disputes,
    early_fraud_warnings,
    fraud_assessments,
    fraud_blocklist_items,
    fraud_policies,
    fraud_reviews,
    fraud_value_lists,
    payment_intents,
)
from paycore.storage.statements import Insert
from sqlalchemy import Select, Table, and_, delete, exists, func, insert, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

# One statement of a fixed shape for every payment (an absent value is "", which no item holds).
_MATCH_BLOCKLIST = """
SELECT i.type, l.alias FROM fraud_blocklist_items i
LEFT JOIN fraud_value_lists l ON l.merchant_id = i.merchant_id AND l.id = i.value_list
WHERE i.merchant_id IN ($1, $2)
  AND (i.type, i.value) IN (SELECT * FROM unnest($3::text[], $4::text[]))
"""


@dataclass(frozen=True)
class Matches:
    """What a payment's values are on: the blocklist's types, and the aliases of the
    merchant's value lists."""

    blocked: list[BlocklistType]
    listed: frozenset[str]


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
_encode_value_list: Encoder[ValueList] = Encoder(fraud_value_lists, ValueList)
"""A value list's columns but its creation time (the database's now())."""
_value_list: Decoder[ValueList] = Decoder(
    fraud_value_lists, ValueList, columns={"created": "created_at"}
)
_encode_warning: Encoder[EarlyFraudWarning] = Encoder(early_fraud_warnings, EarlyFraudWarning)
_warning: Decoder[EarlyFraudWarning] = Decoder(
    early_fraud_warnings,
    EarlyFraudWarning,
    columns={"created": "created_at"},
    derive={"actionable": lambda row: bool(row.get("actionable", True))},
)
# Stripe's `actionable`: the charge is neither disputed nor refunded in full, read with it.
_actionable = not_(
    or_(
        exists().where(
            disputes.c.merchant_id == early_fraud_warnings.c.merchant_id,
            disputes.c.psp_charge == early_fraud_warnings.c.charge,
        ),
        exists().where(
            payment_intents.c.merchant_id == early_fraud_warnings.c.merchant_id,
            payment_intents.c.id == early_fraud_warnings.c.payment_intent_id,
            payment_intents.c.amount_received > 0,
            payment_intents.c.amount_refunded >= payment_intents.c.amount_received,
        ),
    )
).label("actionable")
EARLY_FRAUD_WARNINGS = Kind(
    "early_fraud_warning",
    early_fraud_warnings,
    _warning,
    select(early_fraud_warnings, _actionable),
)


def early_fraud_warnings_query(merchant_id: str, charge: str, payment_intent: str) -> Select[Any]:
    """ListEarlyFraudWarnings' query: of one charge, of one payment intent ("": any)."""
    query = EARLY_FRAUD_WARNINGS.of(merchant_id)
    for column, value in (
        (early_fraud_warnings.c.charge, charge),
        (early_fraud_warnings.c.payment_intent_id, payment_intent),
    ):
        if value:
            query = query.where(column == value)
    return query


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
    .where(merchant_row(payment_intents, fraud_reviews.c.merchant_id, fraud_reviews.c.payment))
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


T = TypeVar("T")


async def _inserted_unless_held(
    connection: AsyncConnection, table: Table, values: dict[str, Any], decode: Decoder[T]
) -> T | None:
    """The row `values` make, as stored; None when one holding its unique key exists (the
    insert does nothing)."""
    statement = upsert(table).values(**values).on_conflict_do_nothing().returning(table)
    row = (await connection.execute(statement)).one_or_none()
    return None if row is None else decode(row)


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
                .where(merchant_row(fraud_assessments, merchant_id, latest))
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
                    fraud_blocklist_items.c.value_list == item.value_list,
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
                    merchant_row(fraud_blocklist_items, merchant_id, item_id)
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

    async def matches(self, merchant_id: str, values: BlocklistValues) -> Matches:
        """Which of the payment's values the merchant's or the platform's blocklist holds, and
        which of the merchant's value lists."""
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
        return Matches(
            [BlocklistType(row[0]) for row in rows if row[1] is None],
            frozenset(row[1] for row in rows if row[1] is not None),
        )

    async def list(
        self,
        merchant_id: str | None,
        cursor: Cursor,
        kind: BlocklistType | None,
        value: str,
    ) -> Page[BlocklistItem]:
        """One shard's blocklist items (not the value lists'): the merchant's, or (None) every
        item on this shard."""
        query = matching(
            fraud_blocklist_items, merchant_id=merchant_id, type=kind, value=value
        ).where(fraud_blocklist_items.c.value_list == "")
        return await fetch_page(
            self._connection, query, fraud_blocklist_items, cursor, _blocklist_item
        )


@dataclass(frozen=True, slots=True)
class ValueListRepository:
    """A merchant's own value lists (its default lists are not stored: models.default_list)
    and the items of any of its lists."""

    _connection: AsyncConnection

    async def insert(self, value_list: ValueList) -> ValueList | None:
        """The list as stored; None when the merchant has a list of that alias."""
        values = _encode_value_list.mapping(value_list)
        return await _inserted_unless_held(self._connection, fraud_value_lists, values, _value_list)

    async def get(self, merchant_id: str, list_id: str, *, lock: bool = False) -> ValueList | None:
        query = select(fraud_value_lists).where(
            merchant_row(fraud_value_lists, merchant_id, list_id)
        )
        return await fetch_optional(self._connection, query, _value_list, lock=lock)

    async def update(self, value_list: ValueList) -> ValueList | None:
        """None when another of the merchant's lists has its alias."""
        taken = await self._connection.execute(
            select(fraud_value_lists.c.id).where(
                fraud_value_lists.c.merchant_id == value_list.merchant_id,
                fraud_value_lists.c.alias == value_list.alias,
                fraud_value_lists.c.id != value_list.id,
            )
        )
        if taken.first() is not None:
            return None
        row = (
            await self._connection.execute(
                update(fraud_value_lists)
                .where(merchant_row(fraud_value_lists, value_list.merchant_id, value_list.id))
                .values(alias=value_list.alias, name=value_list.name, metadata=value_list.metadata)
                .returning(fraud_value_lists)
            )
        ).one()
        return _value_list(row)

    async def delete(self, merchant_id: str, list_id: str) -> None:
        """The list and its items."""
        for table, column in (
            (fraud_blocklist_items, fraud_blocklist_items.c.value_list),
            (fraud_value_lists, fraud_value_lists.c.id),
        ):
            await self._connection.execute(
                delete(table).where(table.c.merchant_id == merchant_id, column == list_id)
            )

    async def all(self, merchant_id: str, alias: str, contains: str) -> list[ValueList]:
        """The merchant's own lists, newest first: of that alias, holding that value."""
        query = matching(fraud_value_lists, merchant_id=merchant_id, alias=alias)
        if contains:
            query = query.where(
                fraud_value_lists.c.id.in_(
                    select(fraud_blocklist_items.c.value_list).where(
                        fraud_blocklist_items.c.merchant_id == merchant_id,
                        fraud_blocklist_items.c.value == contains,
                    )
                )
            )
        rows = await self._connection.execute(query.order_by(fraud_value_lists.c.id.desc()))
        return [_value_list(row) for row in rows]

    async def holds(self, merchant_id: str, value: str) -> frozenset[str]:
        """The value lists ("" for the blocklist) holding the value, of the merchant's items."""
        rows = await self._connection.execute(
            select(fraud_blocklist_items.c.value_list, fraud_blocklist_items.c.type).where(
                fraud_blocklist_items.c.merchant_id == merchant_id,
                fraud_blocklist_items.c.value == value,
            )
        )
        return frozenset(
            row.value_list or f"{DEFAULT_LIST_PREFIX}{STRIPE_ITEM_TYPES[BlocklistType(row.type)]}"
            for row in rows
        )

    async def item(self, merchant_id: str, item_id: str) -> BlocklistItem | None:
        query = select(fraud_blocklist_items).where(
            merchant_row(fraud_blocklist_items, merchant_id, item_id)
        )
        return await fetch_optional(self._connection, query, _blocklist_item)

    async def remove_item(self, merchant_id: str, item_id: str) -> BlocklistItem | None:
        row = (
            await self._connection.execute(
                delete(fraud_blocklist_items)
                .where(merchant_row(fraud_blocklist_items, merchant_id, item_id))
                .returning(fraud_blocklist_items)
            )
        ).one_or_none()
        return None if row is None else _blocklist_item(row)

    async def items(self, value_list: ValueList, cursor: Cursor, value: str) -> Page[BlocklistItem]:
        query = matching(
            fraud_blocklist_items,
            merchant_id=value_list.merchant_id,
            type=value_list.item_type,
            value=value,
        ).where(fraud_blocklist_items.c.value_list == value_list.stored_id)
        return await fetch_page(
            self._connection, query, fraud_blocklist_items, cursor, _blocklist_item
        )


@dataclass(frozen=True, slots=True)
class EarlyFraudWarningRepository:
    _connection: AsyncConnection

    async def insert(self, warning: EarlyFraudWarning) -> EarlyFraudWarning | None:
        """The warning as stored; None when the merchant has the PSP's warning already."""
        values = _encode_warning.mapping(warning)
        return await _inserted_unless_held(self._connection, early_fraud_warnings, values, _warning)

    async def charged_intent(self, merchant_id: str, reference: str, charge: str) -> str | None:
        """The merchant's payment intent `reference` whose latest charge is `charge`."""
        row = (
            await self._connection.execute(
                select(payment_intents.c.id).where(
                    payment_intents.c.merchant_id == merchant_id,
                    payment_intents.c.id == reference,
                    payment_intents.c.psp_charge == charge,
                )
            )
        ).one_or_none()
        return None if row is None else str(row.id)


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

    async def open_for_payment(self, merchant_id: str, payment: str) -> str | None:
        """The id of the payment's open review, if it has one."""
        found = await self._connection.execute(
            select(fraud_reviews.c.id).where(
                fraud_reviews.c.merchant_id == merchant_id,
                fraud_reviews.c.status == ReviewStatus.OPEN.value,
                fraud_reviews.c.payment == payment,
            )
        )
        review_id = found.scalars().first()
        return None if review_id is None else str(review_id)

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
    "EARLY_FRAUD_WARNINGS",
    "PLATFORM",
    "AssessmentRepository",
    "BlocklistRepository",
    "BlocklistValues",
    "EarlyFraudWarningRepository",
    "Matches",
    "PolicyRepository",
    "ReviewRepository",
    "ValueListRepository",
    "early_fraud_warnings_query",
    "insert_assessments",
]
