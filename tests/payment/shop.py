"""Pay-in test support: a server of its own wired to a PSP simulator (the `payin` fixture in
tests/conftest.py) and a merchant set up on it (`shop`), with the checks every scenario ends
with: the ledger integrity check is clean and the wallet holds exactly the expected net."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from paycore.app import Platform
from paycore.client import Paycore, connect
from paycore.runtime.server import GrpcServer
from paycore.v1 import (
    account_pb2,
    customer_pb2,
    ledger_pb2,
    payment_pb2,
    wallet_pb2,
)
from prometheus_client import CollectorRegistry

from tests.customer.support import new_card
from tests.helpers import create_merchant
from tests.secrecy import random_card

NO_LIMITS = {"payments": 0, "subscriptions": 0, "other": 0}
# Short enough that retries, recoveries and the breaker happen within a test.
PAYIN_TIMINGS = {
    "psp_timeout_ms": 400,
    "executor_lease_ms": 1500,
    "executor_max_attempts": 3,
    "executor_retry_base_ms": 20,
    "executor_inline_wait_ms": 300,
    "psp_breaker_threshold": 3,
    "psp_breaker_open_ms": 600,
}


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
        """What `paycore worker` does for executions: one pass over every shard."""
        executor = self.platform.pay_in.executor
        return sum([await executor.resume_due(engine) for engine in self.platform.shards.engines])


@dataclass
class Shop:
    merchant: account_pb2.Merchant
    client: Paycore
    operator: Paycore

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
    ) -> payment_pb2.PaymentIntent:
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
        return await self.client.payments.CreatePaymentIntent(request, metadata=metadata)

    async def pay_with(self, payment_method: str, amount: int) -> payment_pb2.PaymentIntent:
        """Create and confirm an intent with a payment method's id or a test one's name."""
        return await self.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=amount, currency="usd", payment_method=payment_method, confirm=True
            )
        )

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


async def settled(
    payin: PayIn, shop: Shop, intent: str, rounds: int = 20
) -> payment_pb2.PaymentIntent:
    """The intent once it has left `processing`, running the worker's executor pass meanwhile (a
    confirmation's inline wait can end first on a loaded machine)."""
    request = payment_pb2.GetPaymentIntentRequest(id=intent)
    for _ in range(rounds):
        found = await shop.client.payments.GetPaymentIntent(request)
        if found.status != payment_pb2.PAYMENT_INTENT_STATUS_PROCESSING:
            return found
        await asyncio.sleep(0.3)
        await payin.run_worker_once()
    return await shop.client.payments.GetPaymentIntent(request)


async def open_shop(admin: Paycore, target: str, admin_token: str) -> Shop:
    created = await create_merchant(admin, target, name="Shop")
    operator = connect(target, admin_token, acting_for=created.merchant.id)
    return Shop(created.merchant, created.client, operator)


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
