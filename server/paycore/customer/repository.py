"""Customer and payment-method rows on a merchant's shard. Every method takes the merchant id
first and filters by it, so no query reaches another merchant's rows; the caller picks the
shard (paycore.storage). A card's number is only ever written sealed (paycore.customer.vault)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from paycore.customer.models import (
    Address,
    BillingDetails,
    Card,
    CardBrand,
    CardFunding,
    CheckedCard,
    Customer,
    NewCustomer,
    PaymentMethod,
)
from paycore.storage.raw import Columns, driver_of
from paycore.storage.schema import customers, payment_methods
from sqlalchemy import Row, Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

CARD_TYPE = "card"
# The read path's queries (paycore.storage.reads): each filtered by the merchant first.
CUSTOMER_ID = customers.c.id
PAYMENT_METHOD_ID = payment_methods.c.id


def customers_query(merchant_id: str, customer_id: str = "", email: str = "") -> Select[Any]:
    """The merchant's customers (the one of `customer_id`, those with `email`, when given)."""
    query = select(customers).where(customers.c.merchant_id == merchant_id)
    if customer_id:
        query = query.where(customers.c.id == customer_id)
    if email:
        query = query.where(customers.c.email == email)
    return query


def payment_methods_query(
    merchant_id: str, payment_method_id: str = "", customer_id: str = "", card_only: bool = False
) -> Select[Any]:
    """The merchant's payment methods, without their sealed numbers (the one of
    `payment_method_id`, a customer's, only cards, when asked)."""
    query = select(*_PUBLIC_COLUMNS).where(payment_methods.c.merchant_id == merchant_id)
    if payment_method_id:
        query = query.where(payment_methods.c.id == payment_method_id)
    if customer_id:
        query = query.where(payment_methods.c.customer_id == customer_id)
    if card_only:
        query = query.where(payment_methods.c.type == CARD_TYPE)
    return query


class CustomerRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, merchant_id: str, customer_id: str, new: NewCustomer) -> Customer:
        row = (
            await self._connection.execute(
                insert(customers)
                .values(
                    merchant_id=merchant_id,
                    id=customer_id,
                    email=new.email,
                    name=new.name,
                    description=new.description,
                    phone=new.phone,
                    address=asdict(new.address),
                    metadata=new.metadata,
                )
                .returning(customers)
            )
        ).one()
        return customer_of(row)

    async def get(
        self, merchant_id: str, customer_id: str, *, for_update: bool = False
    ) -> Customer | None:
        query = customers_query(merchant_id, customer_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else customer_of(row)

    async def replace(self, customer: Customer) -> Customer:
        """Writes every changeable field of `customer` (read FOR UPDATE in this transaction)."""
        row = (
            await self._connection.execute(
                update(customers)
                .where(
                    customers.c.merchant_id == customer.merchant_id,
                    customers.c.id == customer.id,
                )
                .values(
                    email=customer.email,
                    name=customer.name,
                    description=customer.description,
                    phone=customer.phone,
                    address=asdict(customer.address),
                    default_payment_method_id=customer.default_payment_method,
                    metadata=customer.metadata,
                )
                .returning(customers)
            )
        ).one()
        return customer_of(row)

    async def clear_default_payment_method(
        self, merchant_id: str, customer_id: str, payment_method_id: str
    ) -> None:
        await self._connection.execute(
            update(customers)
            .where(
                customers.c.merchant_id == merchant_id,
                customers.c.id == customer_id,
                customers.c.default_payment_method_id == payment_method_id,
            )
            .values(default_payment_method_id=None)
        )


class PaymentMethodRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(
        self,
        merchant_id: str,
        payment_method_id: str,
        card: CheckedCard,
        fingerprint: str,
        number_sealed: bytes,
        billing_details: BillingDetails,
        metadata: dict[str, str],
    ) -> PaymentMethod:
        row = (
            await self._connection.execute(
                insert(payment_methods)
                .values(
                    merchant_id=merchant_id,
                    id=payment_method_id,
                    type=CARD_TYPE,
                    brand=card.brand.value,
                    last4=card.last4,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                    fingerprint=fingerprint,
                    country=card.country,
                    funding=card.funding.value,
                    wallet=card.wallet,
                    number_sealed=number_sealed,
                    billing_details=asdict(billing_details),
                    metadata=metadata,
                )
                .returning(*_PUBLIC_COLUMNS)
            )
        ).one()
        return payment_method_of(row)

    async def get(
        self, merchant_id: str, payment_method_id: str, *, for_update: bool = False
    ) -> PaymentMethod | None:
        query = payment_methods_query(merchant_id, payment_method_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else payment_method_of(row)

    async def get_sealed(
        self, merchant_id: str, payment_method_id: str
    ) -> tuple[PaymentMethod, bytes] | None:
        """The payment method and its sealed number: only the charge path asks for it."""
        # Every payment reads it (twice, unless the flow passes the card on): asyncpg.
        driver = await driver_of(self._connection)
        record = await driver.fetchrow(_SEALED, merchant_id, payment_method_id)
        if record is None:
            return None
        row = Columns(record)
        return payment_method_of(row), bytes(row.number_sealed)

    async def set_customer(
        self, merchant_id: str, payment_method_id: str, customer_id: str | None
    ) -> PaymentMethod:
        """Attaches (a customer id) or detaches (None, for good: detached_at is set)."""
        detached_at = None if customer_id is not None else func.now()
        row = (
            await self._connection.execute(
                update(payment_methods)
                .where(
                    payment_methods.c.merchant_id == merchant_id,
                    payment_methods.c.id == payment_method_id,
                )
                .values(customer_id=customer_id, detached_at=detached_at)
                .returning(*_PUBLIC_COLUMNS)
            )
        ).one()
        return payment_method_of(row)


# Every column but the sealed number: reads that do not charge never load it.
_PUBLIC_COLUMNS: tuple[Any, ...] = tuple(
    column for column in payment_methods.columns if column.name != "number_sealed"
)


def _address(value: dict[str, Any]) -> Address:
    return Address(**value)


def customer_of(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        merchant_id=row.merchant_id,
        email=row.email,
        name=row.name,
        description=row.description,
        phone=row.phone,
        address=_address(row.address),
        default_payment_method=row.default_payment_method_id,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
    )


_SEALED = "SELECT * FROM payment_methods WHERE merchant_id = $1 AND id = $2"


def payment_method_of(row: Row[Any] | Columns) -> PaymentMethod:
    billing = dict(row.billing_details)
    return PaymentMethod(
        id=row.id,
        merchant_id=row.merchant_id,
        type=row.type,
        card=Card(
            brand=CardBrand(row.brand),
            last4=row.last4,
            exp_month=row.exp_month,
            exp_year=row.exp_year,
            fingerprint=row.fingerprint,
            country=row.country,
            funding=CardFunding(row.funding),
            wallet=row.wallet,
        ),
        billing_details=BillingDetails(
            name=billing["name"],
            email=billing["email"],
            phone=billing["phone"],
            address=_address(billing["address"]),
        ),
        customer_id=row.customer_id,
        detached=row.detached_at is not None,
        metadata=dict(row.metadata),
        created=int(row.created_at.timestamp()),
    )
