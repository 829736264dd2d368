"""What the subscription tests share: calls that make catalogue objects, and operator clients
for tests that make more calls than a key's subscriptions rate limit (10/s) lets through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paycore.client import Paycore
from paycore.v1 import subscription_pb2

OperatorFor = Callable[[str | None], Paycore]
MONTHLY = subscription_pb2.Recurring(
    interval=subscription_pb2.RECURRING_INTERVAL_MONTH, interval_count=1
)


async def new_product(client: Paycore, name: str = "Gold plan", **fields: Any) -> Any:
    return await client.subscriptions.CreateProduct(
        subscription_pb2.CreateProductRequest(name=name, **fields)
    )


async def new_price(
    client: Paycore,
    product: str,
    unit_amount: int = 1500,
    currency: str = "usd",
    **fields: Any,
) -> Any:
    return await client.subscriptions.CreatePrice(
        subscription_pb2.CreatePriceRequest(
            product=product, unit_amount=unit_amount, currency=currency, **fields
        )
    )
