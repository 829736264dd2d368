"""Coupon rows on the merchant's shard, and the discount columns of subscriptions that name
them. Merchant-scoped like paycore.subscription.repository."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from paycore.payment.models import IntentStatus
from paycore.storage.keys import merchant_row
from paycore.storage.reads import Kind, matching
from paycore.storage.rows import Decoder
from paycore.storage.schema import (
    coupons,
    customers,
    payment_intents,
    promotion_codes,
    subscriptions,
)
from paycore.subscription.models import (
    Coupon,
    Discount,
    NewCoupon,
    NewPromotionCode,
    PromotionCode,
    Restrictions,
    Subscription,
)
from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Select,
    Table,
    Update,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection


def _valid(row: Row[Any]) -> bool:
    """Redeemable now (real time): not deleted, under max_redemptions, before redeem_by."""
    return (
        row.deleted_at is None
        and (row.max_redemptions is None or row.times_redeemed < row.max_redemptions)
        and (row.redeem_by is None or time.time() < row.redeem_by)
    )


decode_coupon: Decoder[Coupon] = Decoder(
    coupons,
    Coupon,
    columns={"created": "created_at"},
    derive={"valid": _valid},
)
COUPONS = Kind(
    "coupon",
    coupons,
    decode_coupon,
    selected=select(coupons).where(coupons.c.deleted_at.is_(None)),
)
"""The read path's kind: a deleted coupon is found only by the discounts made from it."""


@dataclass(frozen=True, slots=True)
class CouponRepository:
    _connection: AsyncConnection

    async def insert(self, merchant_id: str, coupon_id: str, new: NewCoupon) -> Coupon | None:
        """The new coupon, or None when the merchant has one of that id (deleted or not)."""
        values = {
            "merchant_id": merchant_id,
            "id": coupon_id,
            "name": new.name,
            "percent_off": new.percent_off,
            "amount_off": new.amount_off,
            "currency": new.currency,
            "duration": new.duration.value,
            "duration_in_months": new.duration_in_months,
            "max_redemptions": new.max_redemptions,
            "redeem_by": new.redeem_by,
            "times_redeemed": 0,
            "metadata": new.metadata,
        }
        row = (
            await self._connection.execute(
                upsert(coupons).values(**values).on_conflict_do_nothing().returning(coupons)
            )
        ).one_or_none()
        return None if row is None else decode_coupon(row)

    async def get(self, merchant_id: str, coupon_id: str, *, lock: bool = False) -> Coupon | None:
        return await COUPONS.fetch(self._connection, merchant_id, coupon_id, lock=lock)

    async def save(self, coupon: Coupon) -> None:
        """The coupon's changeable fields (UpdateCoupon's: Stripe's name and metadata)."""
        t = coupons
        await self._connection.execute(
            update(t)
            .where(t.c.merchant_id == coupon.merchant_id, t.c.id == coupon.id)
            .values(name=coupon.name, metadata=coupon.metadata)
        )

    async def mark_deleted(self, merchant_id: str, coupon_id: str) -> Coupon | None:
        t = coupons
        row = (
            await self._connection.execute(
                update(t)
                .where(t.c.merchant_id == merchant_id, t.c.id == coupon_id)
                .where(t.c.deleted_at.is_(None))
                .values(deleted_at=func.now())
                .returning(t)
            )
        ).one_or_none()
        return None if row is None else decode_coupon(row)

    async def redeem(self, merchant_id: str, coupon_id: str, now: int) -> Coupon | None:
        """Counts one redemption (`_redemption`); None, counting nothing, when the coupon is
        deleted, used up or past redeem_by (at `now`)."""
        t = coupons
        counted = _redemption(
            t, merchant_id, coupon_id, t.c.redeem_by, now, t.c.deleted_at.is_(None)
        )
        row = (await self._connection.execute(counted.returning(t))).one_or_none()
        return None if row is None else decode_coupon(row)

    async def any_of(self, merchant_id: str, coupon_ids: set[str]) -> dict[str, Coupon]:
        """The coupons of these ids, deleted ones included (a discount outlives its coupon)."""
        if not coupon_ids:
            return {}
        t = coupons
        rows = await self._connection.execute(
            select(t).where(t.c.merchant_id == merchant_id, t.c.id.in_(sorted(coupon_ids)))
        )
        return {row.id: decode_coupon(row) for row in rows.all()}


def discount_values(subscription: Subscription) -> dict[str, Any]:
    """The subscription's discount columns (all null without one)."""
    return discount_columns(subscription.discount)


async def with_discounts(
    connection: AsyncConnection, found: list[Subscription]
) -> list[Subscription]:
    """One merchant's subscriptions with their discounts (each with its coupon)."""
    s = subscriptions
    merchant_id = found[0].merchant_id
    rows = (
        await connection.execute(
            select(
                s.c.id,
                s.c.discount_id,
                s.c.discount_coupon_id,
                s.c.discount_start,
                s.c.discount_end,
                s.c.discount_promotion_code_id,
            ).where(
                and_(
                    s.c.merchant_id == merchant_id,
                    s.c.id.in_([each.id for each in found]),
                    s.c.discount_id.is_not(None),
                )
            )
        )
    ).all()
    if not rows:
        return found
    by_id = {row.id: row for row in rows}
    coupons_found = await CouponRepository(connection).any_of(
        merchant_id, {row.discount_coupon_id for row in rows}
    )
    result = []
    for each in found:
        row = by_id.get(each.id)
        if row is not None and row.discount_coupon_id in coupons_found:
            each = replace(
                each,
                discount=Discount(
                    id=row.discount_id,
                    merchant_id=merchant_id,
                    coupon=coupons_found[row.discount_coupon_id],
                    customer_id=each.customer_id,
                    subscription_id=each.id,
                    start=row.discount_start,
                    end=row.discount_end,
                    promotion_code_id=row.discount_promotion_code_id,
                ),
            )
        result.append(each)
    return result


def discount_columns(discount: Discount | None) -> dict[str, Any]:
    """A discount's columns (a customer's, as a subscription's; all null for none)."""
    return {
        "discount_id": None if discount is None else discount.id,
        "discount_coupon_id": None if discount is None else discount.coupon.id,
        "discount_start": None if discount is None else discount.start,
        "discount_end": None if discount is None else discount.end,
        "discount_promotion_code_id": None if discount is None else discount.promotion_code_id,
    }


async def customer_discounts(
    connection: AsyncConnection, merchant_id: str, customer_ids: list[str], *, lock: bool = False
) -> dict[str, Discount]:
    """The discounts of those of the merchant's customers that have one (each with its
    coupon), by customer id; `lock`: their rows FOR UPDATE (an invoice using a `once` one)."""
    c = customers
    query = select(
        c.c.id,
        c.c.discount_id,
        c.c.discount_coupon_id,
        c.c.discount_start,
        c.c.discount_end,
        c.c.discount_promotion_code_id,
    ).where(
        and_(
            c.c.merchant_id == merchant_id,
            c.c.id.in_(customer_ids),
            c.c.discount_id.is_not(None),
        )
    )
    rows = (await connection.execute(query.with_for_update() if lock else query)).all()
    if not rows:
        return {}
    coupons_found = await CouponRepository(connection).any_of(
        merchant_id, {row.discount_coupon_id for row in rows}
    )
    return {
        row.id: Discount(
            id=row.discount_id,
            merchant_id=merchant_id,
            coupon=coupons_found[row.discount_coupon_id],
            customer_id=row.id,
            subscription_id="",
            start=row.discount_start,
            end=row.discount_end,
            promotion_code_id=row.discount_promotion_code_id,
        )
        for row in rows
        if row.discount_coupon_id in coupons_found
    }


async def end_customer_discount(
    connection: AsyncConnection, merchant_id: str, customer_id: str, discount_id: str
) -> bool:
    """Removes the customer's discount when it is still `discount_id`; whether it was."""
    c = customers
    ended = await connection.execute(
        update(c)
        .where(merchant_row(c, merchant_id, customer_id), c.c.discount_id == discount_id)
        .values(**discount_columns(None))
        .returning(c.c.id)
    )
    return ended.first() is not None


async def has_paid(connection: AsyncConnection, merchant_id: str, customer_id: str) -> bool:
    """Whether the customer has a succeeded payment (a promotion code's
    first_time_transaction: it is not a first purchase)."""
    t = payment_intents
    query = (
        select(t.c.id)
        .where(
            t.c.merchant_id == merchant_id,
            t.c.customer_id == customer_id,
            t.c.status == IntentStatus.SUCCEEDED.value,
        )
        .limit(1)
    )
    return (await connection.execute(query)).first() is not None


# --- promotion codes ---------------------------------------------------------------------------


async def _with_coupons(
    connection: AsyncConnection, found: list[PromotionCode]
) -> list[PromotionCode]:
    merchant_id = found[0].merchant_id
    by_id = await CouponRepository(connection).any_of(
        merchant_id, {each.coupon_id for each in found}
    )
    return [replace(each, coupon=by_id.get(each.coupon_id)) for each in found]


def _restrictions(row: Any) -> Restrictions:
    return Restrictions(
        first_time_transaction=row["first_time_transaction"],
        minimum_amount=row["minimum_amount"],
        minimum_amount_currency=row["minimum_amount_currency"],
    )


decode_promotion_code: Decoder[PromotionCode] = Decoder(
    promotion_codes,
    PromotionCode,
    columns={"created": "created_at"},
    skip=("coupon",),
    derive={"restrictions": _restrictions},
)
PROMOTION_CODES = Kind(
    "promotion_code", promotion_codes, decode_promotion_code, complete=_with_coupons
)


def promotion_codes_query(
    merchant_id: str, code: str, coupon_id: str, active: bool | None
) -> Select[Any]:
    """ListPromotionCodes' filters; `code` matched regardless of case, as Stripe's."""
    query = matching(promotion_codes, merchant_id=merchant_id, coupon_id=coupon_id, active=active)
    if code:
        query = query.where(_same_code(code))
    return query


def _same_code(code: str) -> Any:
    """The rows whose code is `code` regardless of case (Stripe matches codes so)."""
    return func.lower(promotion_codes.c.code) == code.lower()


def code_lock_name(merchant_id: str, code: str) -> str:
    """The advisory lock two writers of codes equal regardless of case wait on (there is no row
    to lock before the insert, and uniqueness among active codes is no plain index)."""
    return f"promotion_code:{merchant_id}:{code.lower()}"


@dataclass(frozen=True, slots=True)
class PromotionCodeRepository:
    _connection: AsyncConnection

    async def insert(
        self, merchant_id: str, promotion_code_id: str, code: str, new: NewPromotionCode
    ) -> PromotionCode | None:
        """The new code, or None when the merchant has one with that code."""
        values = {
            "merchant_id": merchant_id,
            "id": promotion_code_id,
            "code": code,
            "coupon_id": new.coupon_id,
            "active": new.active,
            "max_redemptions": new.max_redemptions,
            "expires_at": new.expires_at,
            "times_redeemed": 0,
            "metadata": new.metadata,
            "first_time_transaction": new.restrictions.first_time_transaction,
            "minimum_amount": new.restrictions.minimum_amount,
            "minimum_amount_currency": new.restrictions.minimum_amount_currency,
        }
        t = promotion_codes
        row = (
            await self._connection.execute(
                upsert(t).values(**values).on_conflict_do_nothing().returning(t)
            )
        ).one_or_none()
        if row is None:
            return None
        return (await PROMOTION_CODES.objects(self._connection, [row]))[0]

    async def active_with_code(
        self, merchant_id: str, code: str, other_than: str = ""
    ) -> str | None:
        """The code (as written) of the merchant's active promotion code equal to `code`
        regardless of case, other than the one of id `other_than`; None when there is none."""
        t = promotion_codes
        query = (
            select(t.c.code)
            .where(t.c.merchant_id == merchant_id, t.c.active.is_(True), _same_code(code))
            .limit(1)
        )
        if other_than:
            query = query.where(t.c.id != other_than)
        found: str | None = (await self._connection.execute(query)).scalar_one_or_none()
        return found

    async def get(
        self, merchant_id: str, promotion_code_id: str, *, lock: bool = False
    ) -> PromotionCode | None:
        return await PROMOTION_CODES.fetch(
            self._connection, merchant_id, promotion_code_id, lock=lock
        )

    async def save(self, code: PromotionCode) -> None:
        t = promotion_codes
        await self._connection.execute(
            update(t)
            .where(t.c.merchant_id == code.merchant_id, t.c.id == code.id)
            .values(active=code.active, metadata=code.metadata)
        )

    async def redeem(self, merchant_id: str, promotion_code_id: str, now: int) -> bool:
        """Counts one redemption (`_redemption`, as a coupon's); False, counting nothing, when
        the code is inactive, used up or past expires_at (at `now`)."""
        t = promotion_codes
        counted = _redemption(
            t, merchant_id, promotion_code_id, t.c.expires_at, now, t.c.active.is_(True)
        )
        row = (await self._connection.execute(counted.returning(t.c.id))).one_or_none()
        return row is not None


def _redemption(
    table: Table,
    merchant_id: str,
    object_id: str,
    until: Column[Any],
    now: int,
    redeemable: ColumnElement[bool],
) -> Update:
    """One more redemption of the merchant's coupon or promotion code of `table`, in one
    conditional update (the row lock orders concurrent ones, so times_redeemed never passes
    max_redemptions): only while it is `redeemable`, under its max_redemptions and, at `now`,
    before its `until` (unix seconds; null: no end)."""
    return (
        update(table)
        .where(
            table.c.merchant_id == merchant_id,
            table.c.id == object_id,
            redeemable,
            or_(
                table.c.max_redemptions.is_(None), table.c.times_redeemed < table.c.max_redemptions
            ),
            or_(until.is_(None), until > now),
        )
        .values(times_redeemed=table.c.times_redeemed + 1)
    )
