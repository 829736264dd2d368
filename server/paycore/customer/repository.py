"""Customer and payment-method rows on a merchant's shard. Every method takes the merchant id
first and filters by it, so no query reaches another merchant's rows; the caller picks the
shard (paycore.storage). A card's number is only ever written sealed (paycore.customer.vault)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from paycore.customer.models import (
    Address,
    BillingDetails,
    Card,
    CardBrand,
    CardFunding,
    CardWallet,
    CheckedCard,
    Customer,
    NewCustomer,
    PaymentMethod,
    WalletType,
)
from paycore.search import SearchQuery
from paycore.storage.keys import merchant_row
from paycore.storage.raw import driver_of
from paycore.storage.reads import Kind
from paycore.storage.rows import Decoder, Encoder
from paycore.storage.schema import customers, payment_methods
from paycore.storage.search import search_condition
from paycore.subscription.coupon_store import customer_discounts, discount_columns
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

CARD_TYPE = "card"


def customers_query(merchant_id: str, email: str) -> Select[Any]:
    """The merchant's customers that are not deleted (those with `email`, when given)."""
    query = CUSTOMERS.of(merchant_id)
    return query.where(customers.c.email == email) if email else query


_CUSTOMER_SEARCH_COLUMNS = {
    "email": customers.c.email,
    "name": customers.c.name,
    "phone": customers.c.phone,
    "description": customers.c.description,
    "created": customers.c.created_at,
    "metadata": customers.c.metadata,
}


def customers_search(merchant_id: str, query: SearchQuery) -> Select[Any]:
    """The merchant's customers (not deleted) that `query` finds (CUSTOMER_SEARCH_FIELDS)."""
    return CUSTOMERS.of(merchant_id).where(search_condition(query, _CUSTOMER_SEARCH_COLUMNS))


def payment_methods_query(merchant_id: str, customer_id: str, card_only: bool) -> Select[Any]:
    """The merchant's payment methods (a customer's, only cards, when asked)."""
    query = PAYMENT_METHODS.of(merchant_id)
    if customer_id:
        query = query.where(payment_methods.c.customer_id == customer_id)
    if card_only:
        query = query.where(payment_methods.c.type == CARD_TYPE)
    return query


@dataclass(frozen=True, slots=True)
class CustomerRepository:
    _connection: AsyncConnection

    async def insert(self, merchant_id: str, customer_id: str, new: NewCustomer) -> Customer:
        row = (
            await self._connection.execute(
                insert(customers)
                .values(
                    merchant_id=merchant_id, id=customer_id, **_encode_new_customer.mapping(new)
                )
                .returning(customers)
            )
        ).one()
        return customer_of(row)

    async def get(
        self, merchant_id: str, customer_id: str, *, for_update: bool = False
    ) -> Customer | None:
        return await CUSTOMERS.fetch(self._connection, merchant_id, customer_id, lock=for_update)

    async def replace(self, customer: Customer) -> Customer:
        """Writes every changeable field of `customer` (read FOR UPDATE in this transaction)."""
        row = (
            await self._connection.execute(
                update(customers)
                .where(merchant_row(customers, customer.merchant_id, customer.id))
                .values(
                    **_encode_changeable.mapping(customer), **discount_columns(customer.discount)
                )
                .returning(customers)
            )
        ).one()
        return replace(customer_of(row), discount=customer.discount)

    async def on_clock(self, merchant_id: str, clock_id: str) -> list[str]:
        """The ids of the customers (not deleted) on the test clock, oldest first."""
        query = CUSTOMERS.of(merchant_id).where(customers.c.test_clock_id == clock_id)
        rows = await self._connection.execute(
            query.with_only_columns(customers.c.id).order_by(customers.c.created_at, customers.c.id)
        )
        return [row.id for row in rows.all()]

    async def mark_deleted(self, merchant_id: str, customer_id: str) -> Customer:
        """Marks the customer (read FOR UPDATE in this transaction) deleted: from now on no
        read of customers finds it."""
        row = (
            await self._connection.execute(
                update(customers)
                .where(merchant_row(customers, merchant_id, customer_id))
                .values(deleted_at=func.now(), default_payment_method_id=None)
                .returning(customers)
            )
        ).one()
        return customer_of(row)

    async def clear_default_payment_method(
        self, merchant_id: str, customer_id: str, payment_method_id: str
    ) -> Customer | None:
        """The customer without its default payment method when that was `payment_method_id`;
        None when it was another (nothing changed)."""
        row = (
            await self._connection.execute(
                update(customers)
                .where(
                    merchant_row(customers, merchant_id, customer_id),
                    customers.c.default_payment_method_id == payment_method_id,
                )
                .values(default_payment_method_id=None)
                .returning(customers)
            )
        ).one_or_none()
        return None if row is None else (await CUSTOMERS.objects(self._connection, [row]))[0]


@dataclass(frozen=True, slots=True)
class PaymentMethodRepository:
    _connection: AsyncConnection

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
        return await PAYMENT_METHODS.fetch(
            self._connection, merchant_id, payment_method_id, lock=for_update
        )

    async def get_sealed(
        self, merchant_id: str, payment_method_id: str
    ) -> tuple[PaymentMethod, bytes] | None:
        """The payment method and its sealed number: only the charge path asks for it."""
        # Every payment reads it (twice, unless the flow passes the card on): asyncpg.
        driver = await driver_of(self._connection)
        record = await driver.fetchrow(_SEALED, merchant_id, payment_method_id)
        if record is None:
            return None
        return payment_method_of(record), bytes(record["number_sealed"])

    async def attached_to(self, merchant_id: str, customer_id: str) -> list[PaymentMethod]:
        """The payment methods attached to the customer, locked FOR UPDATE, oldest first."""
        query = payment_methods_query(merchant_id, customer_id, card_only=False)
        rows = (
            await self._connection.execute(
                query.order_by(payment_methods.c.created_at, payment_methods.c.id).with_for_update()
            )
        ).all()
        return [payment_method_of(row) for row in rows]

    async def set_payout_account(
        self,
        merchant_id: str,
        payment_method_id: str,
        account: str,
        currency: str,
        *,
        default: bool,
    ) -> PaymentMethod:
        """Registers the card (read FOR UPDATE in this transaction) as the external account
        of `account` ("" the merchant's own) in `currency`; `default` makes it the payee's
        default card for that currency (the one before is no longer)."""
        if default:
            await self._connection.execute(
                update(payment_methods)
                .where(
                    payment_methods.c.merchant_id == merchant_id,
                    payment_methods.c.payout_account == account,
                    payment_methods.c.payout_currency == currency,
                    payment_methods.c.payout_default,
                    payment_methods.c.id != payment_method_id,
                )
                .values(payout_default=False)
            )
        row = (
            await self._connection.execute(
                update(payment_methods)
                .where(merchant_row(payment_methods, merchant_id, payment_method_id))
                .values(payout_account=account, payout_currency=currency, payout_default=default)
                .returning(*_PUBLIC_COLUMNS)
            )
        ).one()
        return payment_method_of(row)

    async def payout_default(
        self, merchant_id: str, account: str, currency: str
    ) -> PaymentMethod | None:
        """The payee's default payout card for `currency`, if it has one."""
        row = (
            await self._connection.execute(
                PAYMENT_METHODS.of(merchant_id).where(
                    payment_methods.c.payout_account == account,
                    payment_methods.c.payout_currency == currency,
                    payment_methods.c.payout_default,
                )
            )
        ).first()
        return None if row is None else payment_method_of(row)

    async def set_saved(
        self, merchant_id: str, payment_method_id: str, usage: str, network_token: str
    ) -> PaymentMethod:
        """Marks the card (read FOR UPDATE in this transaction) as saved by a SetupIntent for
        `usage`, with the PSP's network token of a wallet card ("" keeps the one it has)."""
        values: dict[str, Any] = {"setup_usage": usage}
        if network_token:
            values["network_token"] = network_token
        row = (
            await self._connection.execute(
                update(payment_methods)
                .where(merchant_row(payment_methods, merchant_id, payment_method_id))
                .values(**values)
                .returning(*_PUBLIC_COLUMNS)
            )
        ).one()
        return payment_method_of(row)

    async def replace_details(self, method: PaymentMethod) -> PaymentMethod:
        """Writes `method`'s billing details, expiry and metadata (UpdatePaymentMethod; the
        row read FOR UPDATE in this transaction)."""
        row = (
            await self._connection.execute(
                update(payment_methods)
                .where(merchant_row(payment_methods, method.merchant_id, method.id))
                .values(
                    billing_details=asdict(method.billing_details),
                    exp_month=method.card.exp_month,
                    exp_year=method.card.exp_year,
                    metadata=method.metadata,
                )
                .returning(*_PUBLIC_COLUMNS)
            )
        ).one()
        return payment_method_of(row)

    async def set_customer(
        self, merchant_id: str, payment_method_id: str, customer_id: str | None
    ) -> PaymentMethod:
        """Attaches (a customer id) or detaches (None, for good: detached_at is set)."""
        detached_at = None if customer_id is not None else func.now()
        row = (
            await self._connection.execute(
                update(payment_methods)
                .where(merchant_row(payment_methods, merchant_id, payment_method_id))
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


_DEFAULT_PAYMENT_METHOD = {"default_payment_method": "default_payment_method_id"}
_encode_new_customer = Encoder(customers, NewCustomer, convert={"address": asdict})
# What `replace` writes: every column of the customer but its keys (created_at is not one).
_encode_changeable = Encoder(
    customers,
    Customer,
    columns=_DEFAULT_PAYMENT_METHOD,
    convert={"address": asdict},
    skip=("id", "merchant_id", "discount", "discount_id"),
)
customer_of = Decoder(
    customers,
    Customer,
    columns={**_DEFAULT_PAYMENT_METHOD, "created": "created_at"},
    convert={"address": _address, "metadata": dict},
    skip=("discount",),
)


async def _with_discounts(connection: AsyncConnection, found: list[Customer]) -> list[Customer]:
    """The customers with their discounts (paycore.subscription.coupon_store), read only for
    those whose row names one."""
    having = [each.id for each in found if each.discount_id is not None]
    if not having:
        return found
    by_id = await customer_discounts(connection, found[0].merchant_id, having)
    return [replace(each, discount=by_id.get(each.id)) for each in found]


_SEALED = "SELECT * FROM payment_methods WHERE merchant_id = $1 AND id = $2"


def _billing_details(row: Any) -> BillingDetails:
    billing = dict(row["billing_details"])  # as `insert` wrote it: asdict(BillingDetails)
    return BillingDetails(**{**billing, "address": _address(billing["address"])})


def wallet_of(row: Any) -> CardWallet | None:
    """A wallet token's card: its type and the device account number's last4."""
    return CardWallet(WalletType(row["wallet"]), row["last4"]) if row["wallet"] else None


payment_method_of = Decoder(
    payment_methods,
    PaymentMethod,
    columns={"created": "created_at"},
    convert={"metadata": dict},
    derive={
        "card": Decoder(
            payment_methods,
            Card,
            convert={"brand": CardBrand, "funding": CardFunding},
            derive={"wallet": wallet_of},
        ),
        "billing_details": _billing_details,
        "detached": lambda row: row["detached_at"] is not None,
    },
)
# The read path's kinds (paycore.storage.reads); a payment method without its sealed number.
CUSTOMERS = Kind(
    "customer",
    customers,
    customer_of,
    selected=select(customers).where(customers.c.deleted_at.is_(None)),
    complete=_with_discounts,
)
"""A deleted customer is found by nothing: reads, changes, and whatever names it."""
PAYMENT_METHODS = Kind(
    "payment_method", payment_methods, payment_method_of, selected=select(*_PUBLIC_COLUMNS)
)
