"""Payment intents, payments and their orders, refunds on the merchant's shard.

An intent's own statements (insert, read or lock, update) are on every payment's path, so they
are asyncpg statements (paycore.storage.raw); the rest is SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from paycore.account.fee_plans import DEFAULT_PLAN, FeePlan
from paycore.customer.repository import wallet_of
from paycore.events.models import NewEvent
from paycore.events.repository import EventsInsert
from paycore.executor.models import ExecutionState
from paycore.ids import Prefix
from paycore.invariants import invariant
from paycore.payment.machine import check_initial, check_move
from paycore.payment.models import (
    ApplicationFee,
    ApplicationFeeFilter,
    CaptureMethod,
    ChargeAttempt,
    ChargeCard,
    ChargeDetails,
    ChargeStatus,
    FeeRefund,
    Intent,
    IntentStatus,
    NewPayment,
    NextAction,
    Order,
    OrderStatus,
    Payment,
    PaymentError,
    PaymentStatus,
    Refund,
    RefundStatus,
    Risk,
    Shipping,
)
from paycore.search import SearchQuery
from paycore.storage.keys import merchant_row
from paycore.storage.raw import driver_of, jsonb, write_later
from paycore.storage.reads import Kind, children_of, matching
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import (
    application_fee_refunds,
    balance_transactions,
    charge_details,
    disputes,
    executions,
    fee_plans,
    payment_intents,
    payment_methods,
    payment_orders,
    payments,
    refunds,
)
from paycore.storage.search import search_condition
from paycore.storage.statements import Insert, assignments, column_names, select_list, with_parts
from sqlalchemy import (
    Row,
    ScalarSelect,
    Select,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement


def _json_of(value: PaymentError | Risk | NextAction | None) -> str | None:
    return None if value is None else jsonb(value.to_json())


# A model's fields are its columns (created: created_at); these differ in their stored form.
_AT = {"created": "created_at"}
decode_intent: Decoder[Intent] = Decoder(
    payment_intents,
    Intent,
    columns=_AT,
    convert={
        "last_error": lambda value: None if value is None else PaymentError(**value),
        "risk": Risk.from_json,
        "next_action": NextAction.from_json,
    },
)
encode_intent: Encoder[Intent] = Encoder(
    payment_intents,
    Intent,
    columns=_AT,
    convert={
        "last_error": _json_of,
        "risk": _json_of,
        "next_action": _json_of,
        "metadata": jsonb,
    },
)
# A new intent, every column written (so that its events render what is stored).
INSERT_INTENT = Insert(payment_intents, encode_intent.columns)
_INSERT_INTENT = f"{INSERT_INTENT.sql} RETURNING *"
_INTENT = "SELECT * FROM payment_intents WHERE merchant_id = $1 AND id = $2"
_FEE = column_names(fee_plans, ["percent_basis_points", "fixed_amount"])
_CARD_COLUMNS = ("brand", "last4", "exp_month", "exp_year", "funding", "country", "wallet")
_DETAIL_COLUMNS = ("description", "metadata", "receipt_email", "shipping")  # ChargeDetails'

# The card of the intent's payment method, for the charge.* events of its completion
# (paycore.payment.completion): read with the lock, so those events cost no statement.
_CARD = ", ".join(f"pm.{name} AS card_{name}" for name in _CARD_COLUMNS)
# The intent locked with the merchant's fee plan (NULLs: the default plan), in one round trip.
_LOCK_INTENT_AND_PLAN = f"""
SELECT {select_list(payment_intents, "i")}, {", ".join(f"f.{name} AS fee_{name}" for name in _FEE)},
  {_CARD}
FROM payment_intents AS i LEFT JOIN fee_plans AS f ON f.merchant_id = i.merchant_id
  LEFT JOIN payment_methods AS pm ON pm.merchant_id = i.merchant_id AND pm.id = i.payment_method_id
WHERE i.merchant_id = $1 AND i.id = $2
FOR UPDATE OF i
"""
# Many intents (merchants $1, ids $2), locked in the order of their ids, with their plans. The
# arrays go through a MATERIALIZED CTE so that no plan sees their lengths: PostgreSQL then keeps
# the generic plan instead of planning each group anew (as executor.repository._RECORD_OUTCOMES;
# docs/benchmarks.md, issue 17: about half the statement's PostgreSQL CPU for groups of 2-8).
_LOCK_INTENTS_AND_PLANS = f"""
WITH keys AS MATERIALIZED (SELECT $1::text[] AS merchant_ids, $2::text[] AS ids)
SELECT {select_list(payment_intents, "i")}, {", ".join(f"f.{name} AS fee_{name}" for name in _FEE)},
  {_CARD}
FROM payment_intents AS i LEFT JOIN fee_plans AS f ON f.merchant_id = i.merchant_id
  LEFT JOIN payment_methods AS pm ON pm.merchant_id = i.merchant_id AND pm.id = i.payment_method_id
WHERE (i.merchant_id, i.id) IN (SELECT k.* FROM keys, unnest(keys.merchant_ids, keys.ids) AS k)
ORDER BY i.id
FOR UPDATE OF i
"""
_LOCK_INTENT = f"{_INTENT} FOR UPDATE"
_INTENT_JSON_COLUMNS = frozenset({"last_error", "risk", "metadata", "next_action"})
_INTENT_COLUMNS = frozenset(column.name for column in payment_intents.columns)
# UPDATE statements by the columns they set: a few shapes, each prepared once per connection.
_intent_updates: dict[tuple[str, ...], str] = {}


def _intent_update_with_event(columns: tuple[str, ...]) -> str:
    key = ("+event", *columns)
    statement = _intent_updates.get(key)
    if statement is None:
        events = EventsInsert(3, only_if="EXISTS (SELECT 1 FROM changed)")
        changed = (
            f"changed AS (\n  UPDATE payment_intents "
            f"SET {assignments(payment_intents, columns, events.next)} "
            "WHERE merchant_id = $1 AND id = $2 RETURNING 1\n)"
        )
        statement = with_parts([changed, events.part], "SELECT count(*) FROM changed")
        _intent_updates[key] = statement
    return statement


def _listed(events: NewEvent | list[NewEvent]) -> list[NewEvent]:
    return events if isinstance(events, list) else [events]


def _intent_and_plan(row: Any) -> tuple[Intent, FeePlan, ChargeCard | None]:
    plan = [row[f"fee_{name}"] for name in _FEE]
    card = _card_of(row)
    if plan[0] is None:
        return decode_intent(row), DEFAULT_PLAN, card
    return decode_intent(row), FeePlan(*plan), card


def applied(intent: Intent, values: dict[str, Any]) -> Intent:
    """The intent with `values` (columns, as `update_intent` takes them) applied."""
    fields: dict[str, Any] = {}
    for column, value in values.items():
        if column == "status":
            fields[column] = IntentStatus(value)
        elif column == "last_error":
            fields[column] = None if value is None else PaymentError(**value)
        elif column == "risk":
            fields[column] = Risk.from_json(value)
        elif column == "next_action":
            fields[column] = NextAction.from_json(value)
        elif column == "capture_method":
            fields[column] = CaptureMethod(value)
        elif column == "canceled_at":
            fields[column] = None if value is None else int(value.timestamp())
        elif column == "metadata":
            fields[column] = dict(value)
        elif column in _INTENT_COLUMNS and column not in ("merchant_id", "id", "created_at"):
            fields[column] = value
        else:
            raise ValueError(f"payment_intents has no column {column!r} to change")
    return replace(intent, **fields)


def _intent_update(columns: tuple[str, ...]) -> str:
    statement = _intent_updates.get(columns)
    if statement is None:
        statement = (
            f"UPDATE payment_intents SET {assignments(payment_intents, columns, 3)} "
            "WHERE merchant_id = $1 AND id = $2 RETURNING *"
        )
        _intent_updates[columns] = statement
    return statement


def _stored(values: dict[str, Any]) -> list[Any]:
    return [
        jsonb(value) if column in _INTENT_JSON_COLUMNS else value
        for column, value in values.items()
    ]


# -- the reads (paycore.storage.reads.Reads runs them) -------------------------------------------


def intents_query(merchant_id: str, customer_id: str, status: IntentStatus | None) -> Select[Any]:
    return matching(
        payment_intents, merchant_id=merchant_id, customer_id=customer_id, status=status
    )


_INTENT_SEARCH_COLUMNS = {
    "status": payment_intents.c.status,
    "currency": payment_intents.c.currency,
    "customer": payment_intents.c.customer_id,
    "description": payment_intents.c.description,
    "amount": payment_intents.c.amount,
    "created": payment_intents.c.created_at,
    "metadata": payment_intents.c.metadata,
}


def intents_search(merchant_id: str, query: SearchQuery) -> Select[Any]:
    """The merchant's payment intents that `query` finds (INTENT_SEARCH_FIELDS)."""
    return PAYMENT_INTENTS.of(merchant_id).where(search_condition(query, _INTENT_SEARCH_COLUMNS))


def payments_query(merchant_id: str, customer_id: str, checkout_id: str) -> Select[Any]:
    return matching(
        payments, merchant_id=merchant_id, customer_id=customer_id, checkout_id=checkout_id
    )


async def _with_orders(connection: AsyncConnection, found: list[Payment]) -> list[Payment]:
    """One merchant's payments with their orders, read in one query."""
    ids = [payment.id for payment in found]
    orders = await PayInRepository(connection).orders_of(found[0].merchant_id, ids)
    return [
        replace(payment, orders=tuple(order for order in orders if order.payment_id == payment.id))
        for payment in found
    ]


def refunds_query(merchant_id: str, payment_intent_id: str, payment_order_id: str) -> Select[Any]:
    query = REFUNDS.of(merchant_id)
    if payment_intent_id:
        query = query.where(refunds.c.payment_intent_id == payment_intent_id)
    if payment_order_id:
        query = query.where(refunds.c.payment_order_id == payment_order_id)
    return query


class PayInRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # -- payment intents ------------------------------------------------------------------------

    async def insert_intent(self, intent: Intent) -> Intent:
        """Stores a new intent (`created` is its creation moment); answers it as stored."""
        check_initial(intent.id, intent.status)
        driver = await driver_of(self._connection)
        return decode_intent(await driver.fetchrow(_INSERT_INTENT, *encode_intent(intent)))

    async def intent(
        self, merchant_id: str, intent_id: str, *, lock: bool = False
    ) -> Intent | None:
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(_LOCK_INTENT if lock else _INTENT, merchant_id, intent_id)
        return None if row is None else decode_intent(row)

    async def locked_intent_and_plan(
        self, merchant_id: str, intent_id: str
    ) -> tuple[Intent | None, FeePlan, ChargeCard | None]:
        """The intent, locked, the fee plan its merchant pays and the card of its payment
        method (one statement)."""
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(_LOCK_INTENT_AND_PLAN, merchant_id, intent_id)
        if row is None:
            return None, DEFAULT_PLAN, None
        return _intent_and_plan(row)

    async def locked_intents_and_plans(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[Intent, FeePlan, ChargeCard | None]]:
        """`locked_intent_and_plan` of many (merchant, intent) pairs in one statement (a group
        commit's), locked in the order of their ids; a pair not found is not in the answer."""
        driver = await driver_of(self._connection)
        rows = await driver.fetch(
            _LOCK_INTENTS_AND_PLANS, [key[0] for key in keys], [key[1] for key in keys]
        )
        return {(row["merchant_id"], row["id"]): _intent_and_plan(row) for row in rows}

    async def charge(
        self, merchant_id: str, charge_id: str, *, with_refunds: bool
    ) -> ChargeAttempt | None:
        """The charge of that PSP id as GetCharge reads it (one statement; `with_refunds`: and
        its refunds, a second)."""
        rows = (await self._connection.execute(charge_query(merchant_id, charge_id))).all()
        if not rows:
            return None
        if with_refunds:
            return (await CHARGES.objects(self._connection, rows))[0]
        return _charge_attempt(rows[0])

    async def set_charge_details(
        self, merchant_id: str, charge_id: str, details: ChargeDetails
    ) -> None:
        """Stores what UpdateCharge set of the charge, every column (None: its intent's)."""
        values = {name: getattr(details, name) for name in _DETAIL_COLUMNS}
        values["shipping"] = None if details.shipping is None else details.shipping.to_json()
        statement = upsert(charge_details).values(
            merchant_id=merchant_id, charge_id=charge_id, **values
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[charge_details.c.merchant_id, charge_details.c.charge_id],
                set_=values,
            )
        )

    async def update_intent_with_event(
        self,
        intent: Intent,
        event_of: Callable[[Intent], NewEvent | list[NewEvent]],
        *,
        locked: bool = False,
        **values: Any,
    ) -> Intent:
        """`update_intent` (or `move_intent`, given a status) and the event of the intent as
        changed, in one statement: the change is applied in Python first (`applied`) to render
        the event (`event_of`). `locked`: the intent is locked in this transaction (it cannot
        vanish), so in a group commit the write may wait for the group's one round trip
        (storage.raw.write_later)."""
        if "status" in values:
            check_move(intent, IntentStatus(values["status"]))
        updated = applied(intent, values)
        arguments = (
            intent.merchant_id,
            intent.id,
            *EventsInsert.arguments(intent.merchant_id, _listed(event_of(updated))),
            *_stored(values),
        )
        statement = _intent_update_with_event(tuple(values))
        if locked:
            await write_later(self._connection, statement, *arguments)
            return updated
        driver = await driver_of(self._connection)
        changed = await driver.fetchval(statement, *arguments)
        invariant(bool(changed), f"payment intent {intent.id} vanished")
        return updated

    async def update_intent(self, intent: Intent, **values: Any) -> Intent:
        """Changes the intent (never its status: `move_intent`) and answers it as it now is
        (one statement, RETURNING)."""
        invariant("status" not in values, "an intent's status changes through move_intent")
        return await self._set(intent, values)

    async def move_intent(self, intent: Intent, status: IntentStatus, **values: Any) -> Intent:
        """Moves the intent to `status` (paycore.payment.machine: an illegal move raises) with
        the other changes in `values`."""
        check_move(intent, status)
        return await self._set(intent, {"status": status.value, **values})

    async def _set(self, intent: Intent, values: dict[str, Any]) -> Intent:
        driver = await driver_of(self._connection)
        row = await driver.fetchrow(
            _intent_update(tuple(values)), intent.merchant_id, intent.id, *_stored(values)
        )
        invariant(row is not None, f"payment intent {intent.id} vanished")
        return decode_intent(row)

    # -- payments and payment orders ------------------------------------------------------------

    async def insert_payment(
        self, merchant_id: str, payment_id: str, order_ids: list[str], new: NewPayment
    ) -> None:
        await self._connection.execute(
            insert(payments).values(
                merchant_id=merchant_id,
                id=payment_id,
                checkout_id=new.checkout_id,
                status=PaymentStatus.CREATED.value,
                buyer_info=new.buyer_info,
                customer_id=new.customer_id,
                payment_method_id=new.payment_method_id,
                metadata=new.metadata,
            )
        )
        await self._connection.execute(
            insert(payment_orders),
            [
                {
                    "merchant_id": merchant_id,
                    "id": order_id,
                    "payment_id": payment_id,
                    "payment_order_id": order.payment_order_id,
                    "seller_account": order.seller_account,
                    "amount": order.amount,
                    "currency": order.currency,
                    "status": OrderStatus.NOT_STARTED.value,
                    "metadata": order.metadata,
                }
                for order_id, order in zip(order_ids, new.orders, strict=True)
            ],
        )

    async def payment(
        self, merchant_id: str, payment_id: str, *, lock: bool = False
    ) -> Payment | None:
        return await PAYMENTS.fetch(self._connection, merchant_id, payment_id, lock=lock)

    async def payment_by_checkout(self, merchant_id: str, checkout_id: str) -> Payment | None:
        query = PAYMENTS.of(merchant_id).where(payments.c.checkout_id == checkout_id)
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else (await PAYMENTS.objects(self._connection, [row]))[0]

    async def orders_of(self, merchant_id: str, payment_ids: list[str]) -> list[Order]:
        if not payment_ids:
            return []
        t = payment_orders
        rows = await self._connection.execute(
            select(t)
            .where(t.c.merchant_id == merchant_id, t.c.payment_id.in_(payment_ids))
            .order_by(t.c.id)
        )
        return [_order(row) for row in rows.all()]

    async def order(self, merchant_id: str, order_id: str, *, lock: bool = False) -> Order | None:
        return await PAYMENT_ORDERS.fetch(self._connection, merchant_id, order_id, lock=lock)

    async def lock_orders(self, keys: Sequence[tuple[str, str]]) -> None:
        """Locks the payment orders of many (merchant, order) pairs in one statement, in the
        order of their ids (a group commit's, before any ledger account)."""
        t = payment_orders
        await self._connection.execute(
            select(t.c.id)
            .where(tuple_(t.c.merchant_id, t.c.id).in_(keys))
            .order_by(t.c.id)
            .with_for_update()
        )

    async def order_ids_taken(self, merchant_id: str, client_ids: list[str]) -> list[str]:
        t = payment_orders
        rows = await self._connection.execute(
            select(t.c.payment_order_id).where(
                t.c.merchant_id == merchant_id, t.c.payment_order_id.in_(client_ids)
            )
        )
        return [row.payment_order_id for row in rows.all()]

    async def update_payment(self, payment: Payment, **values: Any) -> None:
        await self._update(payments, payment.merchant_id, payment.id, values)

    async def update_order(self, order: Order, **values: Any) -> Order:
        """Changes the order and answers it as it now is (one statement, RETURNING)."""
        t = payment_orders
        row = (
            await self._connection.execute(
                update(t)
                .where(merchant_row(t, order.merchant_id, order.id))
                .values(**values)
                .returning(t)
            )
        ).one()
        return _order(row)

    # -- refunds --------------------------------------------------------------------------------

    async def insert_refund(self, refund: Refund) -> None:
        await self._connection.execute(insert(refunds).values(_encode_refund.mapping(refund)))

    async def refund(
        self, merchant_id: str, refund_id: str, *, lock: bool = False
    ) -> Refund | None:
        return await REFUNDS.fetch(self._connection, merchant_id, refund_id, lock=lock)

    async def fee_refunded(self, merchant_id: str, intent_id: str) -> tuple[int, int]:
        """(amount refunded, application fee given back) by the intent's refunds that asked for
        the fee back and have not failed (those at the PSP included); read under the intent's
        lock, which every refund of it takes first."""
        row = (
            await self._connection.execute(
                select(
                    func.coalesce(func.sum(refunds.c.amount), 0),
                    func.coalesce(func.sum(refunds.c.application_fee_refund_amount), 0),
                ).where(
                    refunds.c.merchant_id == merchant_id,
                    refunds.c.payment_intent_id == intent_id,
                    refunds.c.application_fee_refund_amount.is_not(None),
                    refunds.c.status != RefundStatus.FAILED.value,
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def moved_back(self, merchant_id: str, intent_id: str, excluding: str) -> tuple[int, int]:
        """(transfer reversed, application fee given back) by the intent's refunds that moved
        their money (succeeded), but `excluding`; read under the intent's lock, which every
        refund of it takes first, so each refund's completion sees those before it."""
        row = (
            await self._connection.execute(
                select(
                    func.coalesce(func.sum(refunds.c.transfer_reversal_amount), 0),
                    func.coalesce(func.sum(refunds.c.application_fee_refund_amount), 0),
                ).where(
                    refunds.c.merchant_id == merchant_id,
                    refunds.c.payment_intent_id == intent_id,
                    refunds.c.status == RefundStatus.SUCCEEDED.value,
                    refunds.c.id != excluding,
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def update_refund(self, refund: Refund, **values: Any) -> None:
        await self._update(refunds, refund.merchant_id, refund.id, values)

    # -- shared ---------------------------------------------------------------------------------

    async def _update(
        self, table: Table, merchant_id: str, object_id: str, values: dict[str, Any]
    ) -> None:
        await self._connection.execute(
            update(table).where(merchant_row(table, merchant_id, object_id)).values(**values)
        )


_order: Decoder[Order] = Decoder(payment_orders, Order, columns=_AT)
# A refund's Stripe references, read with it (never stored on it): the charge its execution
# refunds ("ch_...") and its balance transaction, once its money is posted (the merchant's own
# `refund` row; a refund taken from both available and pending has two, the first named).
_refund_charge = (
    select(executions.c.psp_charge)
    .where(
        executions.c.merchant_id == refunds.c.merchant_id,
        executions.c.id == refunds.c.execution_id,
    )
    .scalar_subquery()
)


def _own_transaction(merchant_id: Any, source: Any, kind: str) -> ScalarSelect[Any]:
    """The merchant's own (account "") first balance transaction of `kind` for `source`: the
    `txn_` a refund or a charge names (one moved from available and pending has two)."""
    return (
        select(balance_transactions.c.id)
        .where(
            balance_transactions.c.merchant_id == merchant_id,
            balance_transactions.c.source == source,
            balance_transactions.c.type == kind,
            balance_transactions.c.account == "",
        )
        .order_by(balance_transactions.c.id)
        .limit(1)
        .scalar_subquery()
    )


_refund_transaction = _own_transaction(refunds.c.merchant_id, refunds.c.id, "refund")
_refunds_select = select(
    refunds,
    _refund_charge.label("charge_id"),
    _refund_transaction.label("balance_transaction_id"),
)
_refund: Decoder[Refund] = Decoder(
    refunds,
    Refund,
    columns=_AT,
    derive={
        "charge_id": lambda row: row["charge_id"] or None,
        "balance_transaction_id": lambda row: row["balance_transaction_id"],
    },
)
_encode_refund: Encoder[Refund] = Encoder(refunds, Refund)
"""A refund's columns but its creation time (the database's now())."""
_decode_payment: Decoder[Payment] = Decoder(
    payments,
    Payment,
    columns=_AT,
    convert={"risk": Risk.from_json},
    skip=("orders",),
)
# The read path's kinds (paycore.storage.reads); a payment with its orders.
PAYMENT_INTENTS = Kind("payment_intent", payment_intents, decode_intent)
PAYMENTS = Kind("payment", payments, _decode_payment, complete=_with_orders)
PAYMENT_ORDERS = Kind("payment_order", payment_orders, _order)
REFUNDS = Kind("refund", refunds, _refund, selected=_refunds_select)


# Charges (Stripe's, read-only: paycore.payment.charges): an intent's charge or authorization
# execution that the PSP named (its psp_reference, "ch_..."), joined with its intent (every
# column under its own name, so decode_intent reads it), its card and the ids of its dispute
# and of its capture's balance transaction. Paged by the execution's id (time-ordered).
CHARGE_OPERATIONS = ("charge", "authorize")
# An attempt the PSP answered requires_action (3-D Secure) charged nothing: its reference is the
# authentication's (auth_...), not a charge's, and the confirmation after the buyer's answer
# makes the charge (as Stripe's, an intent waiting for its buyer has no charge).
_charged = func.coalesce(executions.c.result["status"].astext, "") != "requires_action"
_charge_method = func.coalesce(executions.c.payment_method_id, payment_intents.c.payment_method_id)
_dispute_id = (
    select(disputes.c.id)
    .where(
        disputes.c.merchant_id == executions.c.merchant_id,
        disputes.c.payment_intent_id == executions.c.payment_intent_id,
        disputes.c.psp_charge == executions.c.psp_reference,
    )
    .order_by(disputes.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_capture_transaction = _own_transaction(executions.c.merchant_id, payment_intents.c.id, "payment")
_charges_select = (
    select(
        *payment_intents.c,
        executions.c.id.label("attempt_id"),
        executions.c.psp_reference.label("charge_id"),
        executions.c.operation.label("attempt_operation"),
        executions.c.state.label("attempt_state"),
        executions.c.amount.label("attempt_amount"),
        executions.c.currency.label("attempt_currency"),
        _charge_method.label("attempt_payment_method"),
        executions.c.result.label("attempt_result"),
        executions.c.failure_code.label("attempt_failure_code"),
        executions.c.failure_message.label("attempt_failure_message"),
        executions.c.created_at.label("attempt_created_at"),
        *(payment_methods.c[name].label(f"card_{name}") for name in _CARD_COLUMNS),
        _dispute_id.label("dispute_id"),
        _capture_transaction.label("balance_transaction_id"),
        *(charge_details.c[name].label(f"detail_{name}") for name in _DETAIL_COLUMNS),
    )
    .select_from(
        executions.join(
            payment_intents,
            and_(
                payment_intents.c.merchant_id == executions.c.merchant_id,
                payment_intents.c.id == executions.c.payment_intent_id,
            ),
        )
        .outerjoin(
            payment_methods,
            and_(
                payment_methods.c.merchant_id == executions.c.merchant_id,
                payment_methods.c.id == _charge_method,
            ),
        )
        .outerjoin(
            charge_details,
            and_(
                charge_details.c.merchant_id == executions.c.merchant_id,
                charge_details.c.charge_id == executions.c.psp_reference,
            ),
        )
    )
    .where(
        executions.c.operation.in_(CHARGE_OPERATIONS),
        executions.c.psp_reference != "",
        _charged,
    )
)


def _card_of(row: Any) -> ChargeCard | None:
    """The charge's card from a row's `card_<column>` values (an asyncpg record, or a
    SQLAlchemy row's mapping); None without a payment method."""
    if row["card_brand"] is None:
        return None
    card = {name: row[f"card_{name}"] for name in _CARD_COLUMNS}
    return ChargeCard(**{**card, "wallet": wallet_of(card)})


def _details(row: Any) -> ChargeDetails:
    """What UpdateCharge set of the charge, from a row's `detail_<column>` values."""
    found = {name: row[f"detail_{name}"] for name in _DETAIL_COLUMNS}
    return ChargeDetails(**{**found, "shipping": Shipping.from_json(found["shipping"])})


def _charge_attempt(row: Row[Any]) -> ChargeAttempt:
    answer = row.attempt_result or {}
    return ChargeAttempt(
        id=row.charge_id,
        merchant_id=row.merchant_id,
        created=int(row.attempt_created_at.timestamp()),
        operation=row.attempt_operation,
        state=row.attempt_state,
        amount=row.attempt_amount,
        currency=row.attempt_currency,
        payment_method_id=row.attempt_payment_method,
        decline_code=str(answer.get("decline_code") or "")
        if answer.get("status") == "declined"
        else "",
        psp_message=str(answer.get("message") or ""),
        failure_code=row.attempt_failure_code,
        failure_message=row.attempt_failure_message,
        intent=decode_intent(row),
        card=_card_of(row._mapping),
        dispute_id=row.dispute_id,
        balance_transaction_id=row.balance_transaction_id,
        details=_details(row._mapping),
    )


async def _with_refunds(
    connection: AsyncConnection, found: list[ChargeAttempt]
) -> list[ChargeAttempt]:
    """Each intent's latest charge with the intent's refunds, newest first (the refunds are of
    the charge the intent holds; its earlier, failed attempts have none)."""
    latest = {attempt.intent.id for attempt in found if attempt.id == attempt.intent.psp_charge}
    if not latest:
        return found
    by_intent = await children_of(
        connection, REFUNDS.of(found[0].merchant_id), refunds, "payment_intent_id", latest, _refund
    )
    return [
        replace(attempt, refunds=tuple(by_intent.get(attempt.intent.id, ())))
        if attempt.id == attempt.intent.psp_charge
        else attempt
        for attempt in found
    ]


CHARGES = Kind(
    "charge", executions, _charge_attempt, selected=_charges_select, complete=_with_refunds
)


def charges_query(
    merchant_id: str, intent_id: str, customer_id: str, transfer_group: str = ""
) -> Select[Any]:
    """A List's charges: the merchant's, of one intent, one customer's intents or one transfer
    group's intents if given."""
    query = CHARGES.of(merchant_id)
    if intent_id:
        query = query.where(executions.c.payment_intent_id == intent_id)
    if customer_id:
        query = query.where(payment_intents.c.customer_id == customer_id)
    if transfer_group:
        query = query.where(payment_intents.c.transfer_group == transfer_group)
    return query


# SearchCharges' fields (CHARGE_SEARCH_FIELDS), as charge_of derives them: the status from the
# execution's state, the metadata the charge's own once UpdateCharge set it (a JSON null or no
# row: its intent's).
_CHARGE_SEARCH_COLUMNS: dict[str, ColumnElement[Any]] = {
    "amount": executions.c.amount,
    "currency": executions.c.currency,
    "status": case(
        (executions.c.state == ExecutionState.SUCCEEDED.value, ChargeStatus.SUCCEEDED.value),
        (executions.c.state == ExecutionState.FAILED.value, ChargeStatus.FAILED.value),
        else_=ChargeStatus.PENDING.value,
    ),
    "customer": payment_intents.c.customer_id,
    "payment_intent": executions.c.payment_intent_id,
    "created": executions.c.created_at,
    "metadata": func.coalesce(
        func.nullif(charge_details.c.metadata, cast(literal("null"), JSONB)),
        payment_intents.c.metadata,
        type_=JSONB,
    ),
}


def charges_search(merchant_id: str, query: SearchQuery) -> Select[Any]:
    """The merchant's charges that `query` finds (CHARGE_SEARCH_FIELDS)."""
    return CHARGES.of(merchant_id).where(search_condition(query, _CHARGE_SEARCH_COLUMNS))


def charge_query(merchant_id: str, charge_id: str) -> Select[Any]:
    """The charge of that PSP id (the newest attempt, should the PSP have named two alike)."""
    return (
        CHARGES.of(merchant_id)
        .where(executions.c.psp_reference == charge_id)
        .order_by(executions.c.id.desc())
        .limit(1)
    )


def charge_position_query(merchant_id: str, charge_id: str) -> Select[Any]:
    """The execution id a charge sorts by (a List's cursor), if the merchant has that charge."""
    return (
        select(executions.c.id)
        .where(
            executions.c.merchant_id == merchant_id,
            executions.c.psp_reference == charge_id,
            executions.c.operation.in_(CHARGE_OPERATIONS),
            executions.c.payment_intent_id.is_not(None),
            _charged,
        )
        .order_by(executions.c.id.desc())
        .limit(1)
    )


# -- application fees (docs/connect.md): a view of destination charges and their refunds --------

_FEE_PREFIX = f"{Prefix.APPLICATION_FEE.value}_"
_INTENT_PREFIX = f"{Prefix.PAYMENT_INTENT.value}_"


def application_fee_id(payment_intent_id: str) -> str:
    """A destination charge's fee's id: the charge's own under the fee_ prefix (so it routes to
    the merchant's shard as the charge does, and pages in the charges' order)."""
    return _FEE_PREFIX + payment_intent_id.removeprefix(_INTENT_PREFIX)


def charge_of_fee(fee_id: str) -> str:
    """The pi_ an application fee's id names ("" for "")."""
    return _INTENT_PREFIX + fee_id.removeprefix(_FEE_PREFIX) if fee_id else ""


_pi = payment_intents
_fr = application_fee_refunds
_fee_refunded = (
    select(func.coalesce(func.sum(refunds.c.application_fee_refund_amount), 0))
    .where(
        refunds.c.merchant_id == _pi.c.merchant_id,
        refunds.c.payment_intent_id == _pi.c.id,
        refunds.c.status == RefundStatus.SUCCEEDED.value,
    )
    .scalar_subquery()
)
_fee_refunded_directly = (
    select(func.coalesce(func.sum(_fr.c.amount), 0))
    .where(_fr.c.merchant_id == _pi.c.merchant_id, _fr.c.payment_intent_id == _pi.c.id)
    .scalar_subquery()
)
_APPLICATION_FEE_ROWS = select(
    _pi.c.merchant_id,
    _pi.c.id,
    _pi.c.transfer_destination,
    _pi.c.application_fee_amount,
    _pi.c.currency,
    _pi.c.created_at,
    _pi.c.psp_charge,
    (_fee_refunded + _fee_refunded_directly).label("fee_refunded"),
).where(
    func.coalesce(_pi.c.transfer_destination, "") != "",
    _pi.c.application_fee_amount > 0,
    _pi.c.status == IntentStatus.SUCCEEDED.value,
)


def _application_fee(row: Any) -> ApplicationFee:
    found = getattr(row, "_mapping", row)
    return ApplicationFee(
        id=application_fee_id(found["id"]),
        merchant_id=found["merchant_id"],
        created=int(found["created_at"].timestamp()),
        account=found["transfer_destination"],
        amount=int(found["application_fee_amount"]),
        amount_refunded=int(found["fee_refunded"]),
        currency=found["currency"],
        payment_intent_id=found["id"],
        charge=found["psp_charge"] or "",
    )


decode_fee_refund: Decoder[FeeRefund] = Decoder(_fr, FeeRefund)
_encode_fee_refund: Encoder[FeeRefund] = Encoder(_fr, FeeRefund)


async def _with_fee_refunds(
    connection: AsyncConnection, found: list[ApplicationFee]
) -> list[ApplicationFee]:
    """The fees with their own refunds, newest first (one statement for a page)."""
    by_charge = await children_of(
        connection,
        select(_fr).where(_fr.c.merchant_id == found[0].merchant_id),
        _fr,
        "payment_intent_id",
        (fee.payment_intent_id for fee in found),
        decode_fee_refund,
    )
    return [replace(fee, refunds=tuple(by_charge.get(fee.payment_intent_id, ()))) for fee in found]


# Read by the charge's id: callers turn fee_ ids (a Get's, a cursor's) into pi_ ones first.
APPLICATION_FEES = Kind(
    "application_fee",
    payment_intents,
    _application_fee,
    selected=_APPLICATION_FEE_ROWS,
    complete=_with_fee_refunds,
)
FEE_REFUNDS = Kind("fee_refund", _fr, decode_fee_refund)


def fee_refunds_query(merchant_id: str, payment_intent_id: str) -> Select[Any]:
    return matching(_fr, merchant_id=merchant_id, payment_intent_id=payment_intent_id)


async def insert_fee_refund(connection: AsyncConnection, refund: FeeRefund) -> None:
    await connection.execute(insert(_fr).values(**_encode_fee_refund.mapping(refund)))


async def set_fee_refund_metadata(connection: AsyncConnection, refund: FeeRefund) -> None:
    await connection.execute(
        update(_fr)
        .where(merchant_row(_fr, refund.merchant_id, refund.id))
        .values(metadata=dict(refund.metadata))
    )


async def fee_refunded_directly(
    connection: AsyncConnection, merchant_id: str, payment_intent_id: str
) -> int:
    """What the fee's own refunds (fr_) gave back, in all; read under the intent's lock."""
    total = await connection.scalar(
        select(func.coalesce(func.sum(_fr.c.amount), 0)).where(
            _fr.c.merchant_id == merchant_id, _fr.c.payment_intent_id == payment_intent_id
        )
    )
    return int(total or 0)


def application_fees_query(merchant_id: str, wanted: ApplicationFeeFilter) -> Select[Any]:
    query = APPLICATION_FEES.of(merchant_id)
    if wanted.payment_intent_id:
        query = query.where(_pi.c.id == wanted.payment_intent_id)
    if wanted.account:
        query = query.where(_pi.c.transfer_destination == wanted.account)
    return query
