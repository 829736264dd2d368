"""Pay-in test support: a server of its own wired to a PSP simulator (the `payin` fixture in
tests/conftest.py) and a merchant set up on it (`shop`), with the checks every scenario ends
with: the ledger integrity check is clean and the wallet holds exactly the expected net."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from paycore.app import Platform
from paycore.client import Paycore, connect
from paycore.runtime.server import GrpcServer
from paycore.v1 import (
    account_pb2,
    customer_pb2,
    fraud_pb2,
    ledger_pb2,
    payment_pb2,
    wallet_pb2,
)
from prometheus_client import CollectorRegistry

from tests.customer.support import new_card
from tests.helpers import create_merchant
from tests.secrecy import random_card

T = TypeVar("T")
WorkerPass = Callable[[], Awaitable[object]]
"""One pass of the worker's executor jobs on a server (run_executor_once)."""

NO_LIMITS = {"payments": 0, "subscriptions": 0, "other": 0}
# Short enough that retries, recoveries and the breaker happen within a test. The in-line wait
# outlasts one PSP timeout and a status query, so that a PSP answer a loaded machine makes late
# is still a request's outcome; tests about the in-line budget, the breaker, dead letters or
# lost answers take SHORT_INLINE_WAIT (a request that gives up before the PSP answers).
PAYIN_TIMINGS = {
    "psp_timeout_ms": 400,
    "executor_lease_ms": 1500,
    "executor_max_attempts": 3,
    "executor_retry_base_ms": 20,
    "executor_inline_wait_ms": 1500,
    "psp_breaker_threshold": 3,
    "psp_breaker_open_ms": 600,
}
SHORT_INLINE_WAIT: dict[str, object] = {"executor_inline_wait_ms": 300}


@dataclass
class PayIn:
    platform: Platform
    server: GrpcServer
    admin: Paycore
    admin_token: str
    registry: CollectorRegistry

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def run_worker_once(self) -> int:
        return await run_executor_once(self.platform)


async def run_executor_once(platform: Platform) -> int:
    """What `paycore worker` does for executions: one pass over every shard."""
    executor = platform.pay_in.executor
    return sum([await executor.resume_due(engine) for engine in platform.shards.engines])


@dataclass
class Shop:
    merchant: account_pb2.Merchant
    client: Paycore
    operator: Paycore
    worker_pass: WorkerPass | None
    """The worker's executor pass on the shop's server (run_executor_once), which `settled`
    runs while it waits; None where a worker process runs on its own."""

    @property
    def id(self) -> str:
        return self.merchant.id

    async def card(self, number: str, customer: str = "") -> str:
        method = await new_card(self.client, number)
        if customer:
            await self.client.customers.AttachPaymentMethod(
                customer_pb2.AttachPaymentMethodRequest(id=method.id, customer=customer)
            )
        return method.id

    async def seller(self, name: str = "Seller") -> str:
        account = await self.client.accounts.CreateSellerAccount(
            account_pb2.CreateSellerAccountRequest(
                email="seller@shop.test", business_name=name, country="US", default_currency="usd"
            )
        )
        return account.id

    async def pay(
        self,
        number: str,
        amount: int = 1000,
        currency: str = "usd",
        *,
        manual: bool = False,
        key: str | None = None,
        as_answered: bool = False,
    ) -> payment_pb2.PaymentIntent:
        """Creates and confirms an intent paid with a new card `number`: the intent once it has
        left `processing` (settled), or, `as_answered`, the confirmation's own answer."""
        request = payment_pb2.CreatePaymentIntentRequest(
            amount=amount,
            currency=currency,
            payment_method=await self.card(number),
            confirm=True,
            capture_method=payment_pb2.CAPTURE_METHOD_MANUAL
            if manual
            else payment_pb2.CAPTURE_METHOD_AUTOMATIC,
        )
        metadata = (("idempotency-key", key),) if key else None
        answered = await self.client.payments.CreatePaymentIntent(request, metadata=metadata)
        return answered if as_answered else await self.settled(answered)

    async def pay_with(self, payment_method: str, amount: int) -> payment_pb2.PaymentIntent:
        """Create and confirm an intent with a payment method's id or a test one's name: the
        intent once it has left `processing` (settled)."""
        answered = await self.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=amount, currency="usd", payment_method=payment_method, confirm=True
            )
        )
        return await self.settled(answered)

    async def settled(
        self, intent: payment_pb2.PaymentIntent | str, rounds: int = 20
    ) -> payment_pb2.PaymentIntent:
        """The intent (or the one of this id) once it has left `processing` (until_settled); one
        held for review at once."""
        request = payment_pb2.GetPaymentIntentRequest(
            id=intent if isinstance(intent, str) else intent.id
        )

        async def read() -> payment_pb2.PaymentIntent:
            return await self.client.payments.GetPaymentIntent(request)

        found = intent if isinstance(intent, payment_pb2.PaymentIntent) else await read()
        return await until_settled(found, read, _in_flight, self.worker_pass, rounds)

    async def balance(self, seller: str = "") -> tuple[dict[str, int], dict[str, int]]:
        found = await self.client.wallet.GetBalance(wallet_pb2.GetBalanceRequest(account=seller))
        return (
            {money.currency: money.amount for money in found.available},
            {money.currency: money.amount for money in found.pending},
        )

    async def assert_books_balance(self, currency: str = "usd") -> None:
        await assert_books_balance(self.operator, self.id, currency)

    async def close(self) -> None:
        await self.client.close()
        await self.operator.close()


async def until_settled(
    found: T,
    read: Callable[[], Awaitable[T]],
    in_flight: Callable[[T], bool],
    worker_pass: WorkerPass | None,
    rounds: int = 20,
) -> T:
    """`found` once `in_flight` no longer holds of it, read again after each of the worker's
    executor passes. A confirmation's (a capture's, a refund's) inline wait,
    executor_inline_wait_ms, ends before the PSP answers when a loaded machine makes that answer
    slower than psp_timeout_ms: the operation is then in flight until a status query. What is
    still in flight after `rounds` passes is answered as it is (a PSP that never answers)."""
    for _ in range(rounds):
        if not in_flight(found):
            return found
        await asyncio.sleep(0.3)
        if worker_pass is not None:
            await worker_pass()
        found = await read()
    return found


def _in_flight(intent: payment_pb2.PaymentIntent) -> bool:
    """Processing with its charge at the PSP or due to go there, not held for review."""
    return (
        intent.status == payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING
        and intent.risk_assessment.decision != fraud_pb2.RISK_DECISION_REVIEW
    )


async def open_shop(
    admin: Paycore, target: str, admin_token: str, platform: Platform | None = None
) -> Shop:
    """A new merchant on the server at `target`; `platform`: that server's, whose executor
    pass the shop runs while it waits for a payment to settle."""
    created = await create_merchant(admin, target, name="Shop")
    operator = connect(target, admin_token, acting_for=created.merchant.id)
    worker_pass = None if platform is None else functools.partial(run_executor_once, platform)
    return Shop(created.merchant, created.client, operator, worker_pass)


async def assert_books_balance(operator: Paycore, merchant_id: str, currency: str = "usd") -> None:
    """The ledger's integrity check of the merchant's books is clean and every account pair
    balances, posted and pending."""
    report = await operator.ledger.CheckIntegrity(
        ledger_pb2.CheckIntegrityRequest(merchant=merchant_id, currency=currency)
    )
    assert report.ok, list(report.mismatches)
    for total in report.currencies:
        balances = total.balances
        assert balances.debits_posted == balances.credits_posted, total
        assert balances.debits_pending == balances.credits_pending, total


def good_card() -> str:
    """A Visa number of its own, which the simulator charges like 4242...: the fraud counters
    per card fingerprint (shared by every test of a run) stay at one payment."""
    return random_card("4", 16)


def fee(amount: int) -> int:
    """The default plan, 2.9% + 30, half up (paycore.account.fee_plans)."""
    return min(amount, (amount * 290 * 2 + 10_000) // 20_000 + 30)
