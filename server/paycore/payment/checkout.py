"""Payments (the chapter's checkout): one buyer pays several sellers at once. Each payment
order is charged at the PSP on its own (its own execution, its order id the PSP's key); the
payment's status follows from its orders (paycore.payment.completion.settle_payment)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from paycore.customer.repository import CUSTOMERS
from paycore.errors import ApiError, Reason
from paycore.executor.models import NewExecution, Operation
from paycore.executor.service import Executor
from paycore.fraud.features import amount_usd_cents
from paycore.fraud.service import FraudService
from paycore.ids import Prefix, logical_shard_of, new_id
from paycore.invariants import violated
from paycore.iso import amount_max
from paycore.payment import events
from paycore.payment.completion import PayInCompletion
from paycore.payment.events import PayInEvents
from paycore.payment.models import NewPayment, Order, OrderStatus, Payment, Risk
from paycore.payment.payer import PayerCards, payer_card
from paycore.payment.repository import (
    PAYMENT_ORDERS,
    PAYMENTS,
    PayInRepository,
    payments_query,
)
from paycore.payment.risk import risk_of, score_request
from paycore.runtime.mutations import Complete, FinalAnswer, Phases
from paycore.storage import Shards
from paycore.storage.failures import violated_unique_key
from paycore.storage.reads import Cursor, Named, Page, Reads
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

USD = "usd"
CHECKOUT_INDEX = "payments_checkout_idx"
ORDER_ID_INDEX = "payment_orders_client_id_idx"


@dataclass(frozen=True, slots=True)
class PaymentOrders:
    """Payments once created: reads, starting their orders, the completion, a closed review."""

    _shards: Shards
    _reads: Reads
    _executor: Executor
    _completion: PayInCompletion
    events: PayInEvents

    async def get(self, merchant_id: str, payment_id: str) -> Payment:
        return await self._reads.one(merchant_id, PAYMENTS, payment_id)

    async def get_order(self, merchant_id: str, order_id: str) -> Order:
        return await self._reads.one(merchant_id, PAYMENT_ORDERS, order_id)

    async def list(
        self, merchant_id: str, cursor: Cursor, customer_id: str, checkout_id: str
    ) -> Page[Payment]:
        query = payments_query(merchant_id, customer_id, checkout_id)
        named = [Named("customer", CUSTOMERS, customer_id)]
        return await self._reads.page(merchant_id, PAYMENTS, cursor, query, named)

    async def start_orders(self, connection: AsyncConnection, payment: Payment, risk: Risk) -> None:
        """Blocked: every order fails without reaching the PSP. Held for review: the orders
        wait, not started, the payment `processing` as a held intent is. Otherwise each order
        gets its execution."""
        repository = PayInRepository(connection)
        if risk.blocked:
            for order in payment.orders:
                failed = await repository.update_order(
                    order,
                    status=OrderStatus.FAILED.value,
                    failure_code="FRAUD_SUSPECTED",
                    failure_message="The payment was blocked as likely fraudulent.",
                )
                await self.events.order.record(connection, events.ORDER_FAILED, failed)
            await repository.update_payment(
                payment,
                failure_code="FRAUD_SUSPECTED",
                failure_message="The payment was blocked as likely fraudulent.",
            )
        elif not risk.held:
            for order in payment.orders:
                execution_id = await self._executor.enqueue(
                    connection,
                    NewExecution(
                        merchant_id=payment.merchant_id,
                        operation=Operation.CHARGE,
                        amount=order.amount,
                        currency=order.currency,
                        psp_key=order.payment_order_id,
                        payment_order_id=order.id,
                        payment_method_id=payment.payment_method_id,
                    ),
                )
                executing = await repository.update_order(
                    order, status=OrderStatus.EXECUTING.value, execution_id=execution_id
                )
                await self.events.order.record(connection, events.ORDER_EXECUTING, executing)
        await self._completion.settle_payment(connection, payment.merchant_id, payment.id)

    def completion(self, merchant_id: str) -> Complete[Payment]:
        async def complete(payment_id: str, final: FinalAnswer[Payment]) -> Payment:
            payment = await self.get(merchant_id, payment_id)
            running = [
                order.execution_id
                for order in payment.orders
                if order.status is OrderStatus.EXECUTING and order.execution_id
            ]
            if running:
                await asyncio.gather(
                    *(self._executor.run(merchant_id, execution) for execution in running)
                )
                payment = await self.get(merchant_id, payment_id)
            return payment

        return complete

    async def review_closed(self, merchant_id: str, payment_id: str, approved: bool) -> None:
        async with self._shards.transaction(merchant_id) as connection:
            repository = PayInRepository(connection)
            payment = await repository.payment(merchant_id, payment_id, lock=True)
            if payment is None or not _held(payment):
                return
            decided = Risk(0, "allow" if approved else "block", ())
            await self.start_orders(connection, payment, decided)
        await self.completion(merchant_id)(payment_id, FinalAnswer.unstored())


def _held(payment: Payment) -> bool:
    """Held for review: none of its orders started (scoring decided nothing else yet)."""
    return all(order.status is OrderStatus.NOT_STARTED for order in payment.orders)


@dataclass(frozen=True, slots=True)
class Checkouts:
    """CreatePayment: the fraud check, then the payment and its orders (PaymentOrders)."""

    orders: PaymentOrders
    _cards: PayerCards
    _fraud: FraudService

    async def prepare(self, merchant_id: str, new: NewPayment, client_ip: str) -> Phases[Payment]:
        """`client_ip`: the buyer's address, for fraud scoring ("" unknown)."""
        card = await payer_card(self._cards, merchant_id, new.payment_method_id, new.customer_id)
        new = replace(new, payment_method_id=card.payment_method_id)  # a test card's new id
        shard = logical_shard_of(merchant_id, Prefix.ACCOUNT)
        payment_id = new_id(Prefix.PAYMENT, shard)
        order_ids = [new_id(Prefix.PAYMENT_ORDER, shard) for _ in new.orders]
        total, currency = scored_total(new)
        facts = score_request(
            merchant_id,
            payment_id,
            total,
            currency,
            card,
            new.customer_id,
            new.buyer_info,
            client_ip=client_ip,
        )
        risk = risk_of(await self._fraud.score_payment(merchant_id, facts))

        async def record(connection: AsyncConnection) -> Payment:
            repository = PayInRepository(connection)
            if await repository.payment_by_checkout(merchant_id, new.checkout_id) is not None:
                raise ApiError(
                    Reason.CHECKOUT_EXISTS, param="checkout_id", checkout_id=new.checkout_id
                )
            taken = await repository.order_ids_taken(
                merchant_id, [order.payment_order_id for order in new.orders]
            )
            if taken:
                position, client_id = next(
                    (position, order.payment_order_id)
                    for position, order in enumerate(new.orders)
                    if order.payment_order_id in taken
                )
                raise ApiError(
                    Reason.PAYMENT_ORDER_ID_EXISTS,
                    param=f"payment_orders[{position}].payment_order_id",
                    payment_order_id=client_id,
                )
            await self._cards.save_test_card(connection, merchant_id, card)
            try:
                await repository.insert_payment(merchant_id, payment_id, order_ids, new)
            except IntegrityError as error:
                # A concurrent request with the same checkout_id won the race (issue 23,
                # item 6): answer as it would have had it come second, never INTERNAL.
                index = violated_unique_key(error)
                if index == CHECKOUT_INDEX:
                    raise ApiError(
                        Reason.CHECKOUT_EXISTS, param="checkout_id", checkout_id=new.checkout_id
                    ) from None
                if index == ORDER_ID_INDEX:
                    raise ApiError(
                        Reason.PAYMENT_ORDER_ID_EXISTS,
                        param="payment_orders.payment_order_id",
                        payment_order_id=new.orders[0].payment_order_id,
                    ) from None
                raise
            payment = await repository.payment(merchant_id, payment_id)
            if payment is None:
                violated(f"payment {payment_id} vanished")
            await repository.update_payment(payment, risk=risk.to_json())
            await self.orders.events.payment_created(connection, payment)
            await self.orders.start_orders(connection, payment, risk)
            current = await repository.payment(merchant_id, payment_id)
            if current is None:
                violated(f"payment {payment_id} vanished")
            return current

        return Phases(record, self.orders.completion(merchant_id))


def scored_total(new: NewPayment) -> tuple[int, str]:
    """What the fraud check scores for a checkout (issue 23, item 8): each currency's orders
    summed on their own, converted to US cents and added, capped at the largest amount one
    payment may have (a checkout that large is reviewed at the cap anyway). Summing the minor
    units of every currency in the first order's currency refused valid checkouts as too
    large, and a yen first order let a dollar second one skip the amount review."""
    per_currency: dict[str, int] = {}
    for order in new.orders:
        per_currency[order.currency] = per_currency.get(order.currency, 0) + order.amount
    usd_cents = sum(amount_usd_cents(amount, currency) for currency, amount in per_currency.items())
    return min(usd_cents, amount_max(USD)), USD
