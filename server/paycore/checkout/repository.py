"""Checkout sessions and the merchants' hosted-page keys, over a connection (SQLAlchemy Core:
nothing here is on a hot path). Every read joins the session's payment intent, whose status the
session's shown status follows."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from paycore.checkout.models import CustomerDetails, LineItem, NewSession, Session, SessionStatus
from paycore.customer.models import Address, BillingDetails
from paycore.ids import Prefix, new_merchant_id
from paycore.invariants import violated
from paycore.payment.models import FRAUD_SUSPECTED, buyer_message
from paycore.storage.keys import merchant_row
from paycore.storage.reads import Kind
from paycore.storage.rows import stored_moment
from paycore.storage.schema import (
    api_keys,
    checkout_keys,
    checkout_sessions,
    customers,
    payment_intents,
    payment_methods,
    promotion_codes,
)
from paycore.subscription.coupon_store import promotion_codes_query
from sqlalchemy import ColumnElement, Row, Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

_SUCCEEDED = "succeeded"
EXPIRABLE_INTENT_STATUSES = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "canceled",
)
"""An open session whose intent is in one of these may expire (a buyer who never came back
from authenticating included); one being paid may not."""

_Details = TypeVar("_Details", CustomerDetails, BillingDetails)

_s = checkout_sessions
_p = payment_intents
_c = customers
_m = payment_methods
_JOINED = (
    _s.join(_p, (_p.c.merchant_id == _s.c.merchant_id) & (_p.c.id == _s.c.payment_intent_id))
    .outerjoin(_c, (_c.c.merchant_id == _s.c.merchant_id) & (_c.c.id == _s.c.customer_id))
    .outerjoin(_m, (_m.c.merchant_id == _s.c.merchant_id) & (_m.c.id == _p.c.payment_method_id))
)
"""A session with its intent, whose status its own follows, its customer (if any), whose
details a complete session shows (a deleted customer's too: the buyer gave them), and the
card that paid it, whose billing details a guest's session shows."""


def _with_intent() -> Select[Any]:
    return select(
        _s,
        _p.c.status.label("intent_status"),
        _p.c.last_error.label("intent_last_error"),
        _c.c.email.label("customer_details_email"),
        _c.c.name.label("customer_details_name"),
        _c.c.phone.label("customer_details_phone"),
        _c.c.address.label("customer_details_address"),
        _m.c.billing_details.label("card_billing_details"),
    ).select_from(_JOINED)


def page_query(session_id: str, *, lock: bool = False) -> Select[Any]:
    """The session by its id alone (the hosted page's visitor holds no key); the caller reads
    the shard the id names."""
    query = _with_intent().where(_s.c.id == session_id)
    return query.with_for_update(of=_s) if lock else query


def sessions_query(
    merchant_id: str, status: SessionStatus | None, intent_id: str, customer_id: str, email: str
) -> Select[Any]:
    query = SESSIONS.of(merchant_id)
    if intent_id:
        query = query.where(_s.c.payment_intent_id == intent_id)
    if customer_id:
        query = query.where(_s.c.customer_id == customer_id)
    if email:  # Stripe's customer_details[email]: a guest's, the session's customer's, or
        # the one recorded as the session completed
        wanted = email.lower()
        query = query.where(
            (func.lower(_s.c.customer_email) == wanted)
            | (func.lower(_c.c.email) == wanted)
            | (func.lower(_s.c.customer_details["email"].astext) == wanted)
        )
    if status is not None:
        query = query.where(_shown_status_is(status))
    return query


def _shown_status_is(status: SessionStatus) -> ColumnElement[bool]:
    """The same rule as `shown_status`, in SQL."""
    now = datetime.now(UTC)
    stored_open = _s.c.status == SessionStatus.OPEN.value
    paid = _p.c.status == _SUCCEEDED
    if status is SessionStatus.COMPLETE:
        return (_s.c.status == SessionStatus.COMPLETE.value) | (stored_open & paid)
    overdue = stored_open & ~paid & (_s.c.expires_at <= now)
    if status is SessionStatus.EXPIRED:
        return (_s.c.status == SessionStatus.EXPIRED.value) | overdue
    return stored_open & ~paid & (_s.c.expires_at > now)


def shown_status(stored: str, intent_status: str, expires_at: int, now: float) -> SessionStatus:
    """An open session whose intent succeeded is complete, and one past its expiry is expired,
    as soon as either holds: the worker's sweep records it (and sends the event) a moment
    later."""
    status = SessionStatus(stored)
    if status is SessionStatus.OPEN and intent_status == _SUCCEEDED:
        return SessionStatus.COMPLETE
    if status is SessionStatus.OPEN and expires_at <= now:
        return SessionStatus.EXPIRED
    return status


def customer_details(row: Row[Any], status: SessionStatus) -> CustomerDetails | None:
    """Who paid a complete session (None before): as recorded when it completed, else (the
    sweep has not recorded it yet, or it completed before they were recorded) as now."""
    if status is not SessionStatus.COMPLETE:
        return None
    if row.customer_details is not None:
        return _with_address(CustomerDetails, row.customer_details)
    return payer(row)


def _with_address(kind: type[_Details], stored: Mapping[str, Any]) -> _Details:
    """`kind` (CustomerDetails, BillingDetails) of its stored JSON, its address nested."""
    return kind(**{**stored, "address": Address(**stored["address"])})


def payer(row: Row[Any]) -> CustomerDetails:
    """Who pays the session as now: its customer's details, or a guest's email (the
    session's customer_email, else the card's billing email) and the card's billing name,
    phone and address."""
    if row.customer_id is None or row.customer_details_email is None:
        card = BillingDetails()
        if row.card_billing_details is not None:
            card = _with_address(BillingDetails, row.card_billing_details)
        return CustomerDetails(
            email=row.customer_email or card.email,
            name=card.name,
            phone=card.phone,
            address=card.address,
        )
    return CustomerDetails(
        email=row.customer_details_email or row.customer_email,
        name=row.customer_details_name,
        phone=row.customer_details_phone,
        address=Address(**row.customer_details_address),
    )


def session_of(row: Row[Any]) -> Session:
    expires_at = int(row.expires_at.timestamp())
    status = shown_status(row.status, row.intent_status, expires_at, time.time())
    return Session(
        id=row.id,
        merchant_id=row.merchant_id,
        amount_total=row.amount_total,
        currency=row.currency,
        line_items=tuple(
            LineItem(
                item["name"],
                item["unit_amount"],
                item["quantity"],
                item.get("price"),
                item.get("id", ""),
                product_id=item.get("product"),
                price_nickname=item.get("price_nickname", ""),
                price_metadata=dict(item.get("price_metadata", {})),
                inline=item.get("inline", False),
            )
            for item in row.line_items
        ),
        customer_id=row.customer_id,
        customer_email=row.customer_email,
        success_url=row.success_url,
        cancel_url=row.cancel_url,
        status=status,
        customer_details=customer_details(row, status),
        payment_intent_id=row.payment_intent_id,
        expires_at=expires_at,
        description=row.description,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
        coupon_id=row.discount_coupon_id or "",
        promotion_code_id=row.discount_promotion_code_id or "",
        amount_discount=row.amount_discount,
        client_reference_id=row.client_reference_id or "",
        customer_creation=row.customer_creation,
        locale=row.locale or "",
        allow_promotion_codes=row.allow_promotion_codes,
    )


SESSIONS = Kind("checkout_session", _s, session_of, selected=_with_intent())
"""The read path's kind (paycore.storage.reads): a session with its intent's status."""


def last_error_message(row: Row[Any]) -> str:
    """The intent's last failure as the buyer on the page is told it (a fraud block as an
    ordinary decline)."""
    error = row.intent_last_error
    if not isinstance(error, dict):
        return ""
    return buyer_message(str(error.get("code", "")), str(error.get("message", "")))


def last_error_code(row: Row[Any]) -> str:
    """The code of that failure as the page tells it in its language: its decline_code, else
    its code, lowercase (a fraud block: card_declined, as its message)."""
    error = row.intent_last_error
    if not isinstance(error, dict):
        return ""
    code = str(error.get("code", ""))
    if code == FRAUD_SUSPECTED:
        return "card_declined"
    return str(error.get("decline_code") or "") or code.lower()


def _stored_line(merchant_id: str, item: LineItem) -> dict[str, Any]:
    """A line item in the session's line_items JSON, with a new "li_..." id (ListCheckout-
    SessionLineItems' cursor): `price` (with its nickname and metadata) only for a line made
    from one or for which one was made (`inline`: a price_data line's), `product` only for a
    line of a catalogue product."""
    line: dict[str, Any] = {
        "id": new_merchant_id(Prefix.CHECKOUT_LINE_ITEM, merchant_id),
        "name": item.name,
        "unit_amount": item.unit_amount,
        "quantity": item.quantity,
    }
    if item.price_id:
        line["price"] = item.price_id
        line["price_nickname"] = item.price_nickname
        line["price_metadata"] = item.price_metadata
    if item.inline:
        line["inline"] = True
    if item.product_id:
        line["product"] = item.product_id
    return line


class CheckoutRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(
        self, merchant_id: str, session_id: str, intent_id: str, new: NewSession
    ) -> None:
        await self._connection.execute(
            insert(_s).values(
                merchant_id=merchant_id,
                id=session_id,
                currency=new.currency,
                status=SessionStatus.OPEN.value,
                payment_intent_id=intent_id,
                amount_total=new.amount_total,
                line_items=[_stored_line(merchant_id, item) for item in new.line_items],
                customer_id=new.customer_id,
                customer_email=new.customer_email,
                success_url=new.success_url,
                cancel_url=new.cancel_url,
                description=new.description,
                expires_at=stored_moment(new.expires_at),
                metadata=new.metadata,
                amount_discount=new.amount_discount,
                discount_coupon_id=new.coupon_id or None,
                discount_promotion_code_id=new.promotion_code_id or None,
                client_reference_id=new.client_reference_id or None,
                customer_creation=new.customer_creation,
                locale=new.locale or None,
                allow_promotion_codes=new.allow_promotion_codes,
            )
        )

    async def session(
        self, merchant_id: str, session_id: str, *, lock: bool = False
    ) -> Row[Any] | None:
        query = SESSIONS.by_id(merchant_id, session_id)
        if lock:
            query = query.with_for_update(of=_s)
        row: Row[Any] | None = (await self._connection.execute(query)).one_or_none()
        return row

    async def written(self, merchant_id: str, session_id: str) -> Session:
        """A session this transaction has just written."""
        row = await self.session(merchant_id, session_id)
        if row is None:
            raise violated("a session written in this transaction reads back")
        return session_of(row)

    async def close(
        self,
        merchant_id: str,
        session_id: str,
        status: SessionStatus,
        payer: CustomerDetails | None = None,
    ) -> None:
        """Records the end of an open session: complete (with who paid) or expired."""
        values: dict[str, Any] = {"status": status.value}
        if status is SessionStatus.COMPLETE:
            values["completed_at"] = datetime.now(UTC)
            values["customer_details"] = None if payer is None else asdict(payer)
        await self._connection.execute(
            update(_s).where(merchant_row(_s, merchant_id, session_id)).values(values)
        )

    async def promotion_code(self, merchant_id: str, code: str) -> str | None:
        """The id of the merchant's active promotion code `code` (regardless of case)."""
        query = promotion_codes_query(merchant_id, code, "", True).with_only_columns(
            promotion_codes.c.id
        )
        found: str | None = (await self._connection.execute(query.limit(1))).scalar_one_or_none()
        return found

    async def set_discount(self, merchant_id: str, session_id: str, session: NewSession) -> None:
        """The session's discount, taken off its amount_total, as the buyer's code gave it."""
        await self._connection.execute(
            update(_s)
            .where(merchant_row(_s, merchant_id, session_id))
            .values(
                amount_total=session.amount_total,
                amount_discount=session.amount_discount,
                discount_coupon_id=session.coupon_id,
                discount_promotion_code_id=session.promotion_code_id,
            )
        )

    async def set_customer(self, merchant_id: str, session_id: str, customer_id: str) -> None:
        await self._connection.execute(
            update(_s)
            .where(merchant_row(_s, merchant_id, session_id))
            .values(customer_id=customer_id)
        )

    async def set_metadata(
        self, merchant_id: str, session_id: str, metadata: dict[str, str]
    ) -> None:
        await self._connection.execute(
            update(_s).where(merchant_row(_s, merchant_id, session_id)).values(metadata=metadata)
        )

    async def claim_paid(self, limit: int) -> Sequence[Row[Any]]:
        """Open sessions (any merchant on this shard) whose intent succeeded, locked."""
        query = (
            _with_intent()
            .where(_s.c.status == SessionStatus.OPEN.value, _p.c.status == _SUCCEEDED)
            .limit(limit)
            .with_for_update(of=_s, skip_locked=True)
        )
        rows: Sequence[Row[Any]] = (await self._connection.execute(query)).all()
        return rows

    async def claim_overdue(self, now: datetime, limit: int) -> Sequence[Row[Any]]:
        """Open sessions past their expiry whose intent is not being paid, locked."""
        query = (
            _with_intent()
            .where(
                _s.c.status == SessionStatus.OPEN.value,
                _s.c.expires_at <= now,
                _p.c.status.in_(EXPIRABLE_INTENT_STATUSES),
            )
            .order_by(_s.c.expires_at)
            .limit(limit)
            .with_for_update(of=_s, skip_locked=True)
        )
        rows: Sequence[Row[Any]] = (await self._connection.execute(query)).all()
        return rows

    # -- the hosted pages' publishable key ------------------------------------------------------

    async def page_key(self, merchant_id: str, now: datetime) -> Any:
        """The merchant's hosted-page key while it is usable (not revoked, not expired)."""
        k = api_keys
        query = (
            select(checkout_keys.c.key_id, checkout_keys.c.sealed_key)
            .select_from(
                checkout_keys.join(
                    k,
                    (k.c.merchant_id == checkout_keys.c.merchant_id)
                    & (k.c.id == checkout_keys.c.key_id),
                )
            )
            .where(
                checkout_keys.c.merchant_id == merchant_id,
                k.c.revoked_at.is_(None),
                k.c.expires_at.is_(None) | (k.c.expires_at > now),
            )
        )
        return (await self._connection.execute(query)).one_or_none()

    async def save_page_key(self, merchant_id: str, key_id: str, sealed: bytes) -> None:
        statement = upsert(checkout_keys).values(
            merchant_id=merchant_id, key_id=key_id, sealed_key=sealed
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[checkout_keys.c.merchant_id],
                set_={"key_id": key_id, "sealed_key": sealed},
            )
        )
