"""SubscriptionService over gRPC: request -> checks -> domain call -> response, nothing more.

Built so far: the catalogue (products, prices) and test clocks (create, read). Subscriptions,
invoices and AdvanceTestClock need billing, which comes next: until then they answer
UNIMPLEMENTED (METHOD_NOT_IMPLEMENTED)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NoReturn

from google.protobuf.message import Message
from grpc import aio
from paycore import validation
from paycore.errors import ApiError, Reason, invalid, missing
from paycore.ids import Prefix
from paycore.runtime.context import current_call
from paycore.runtime.mutations import Mutations
from paycore.subscription.messages import (
    INTERVALS,
    clock_message,
    price_message,
    product_message,
)
from paycore.subscription.models import (
    INTERVAL_COUNT_MAX,
    NewPrice,
    NewProduct,
    NewTestClock,
    Recurring,
)
from paycore.subscription.service import SubscriptionService
from paycore.v1 import subscription_pb2, subscription_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

Context = aio.ServicerContext[Any, Any]
# The proto's limits (subscription.proto), Stripe's where Stripe has one.
PRODUCT_NAME_LENGTH_MAX = 250
DESCRIPTION_LENGTH_MAX = 1000
NICKNAME_LENGTH_MAX = 250
CLOCK_NAME_LENGTH_MAX = 300
# A clock's time stays far enough from datetime's year 9999 for years of periods after it.
FROZEN_TIME_MAX = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp())
# The methods that answer METHOD_NOT_IMPLEMENTED until billing builds them.
NOT_BUILT = frozenset(
    {
        "CreateSubscription",
        "GetSubscription",
        "ListSubscriptions",
        "UpdateSubscription",
        "CancelSubscription",
        "GetInvoice",
        "ListInvoices",
        "PayInvoice",
        "VoidInvoice",
        "AdvanceTestClock",
    }
)


class SubscriptionServicer(subscription_pb2_grpc.SubscriptionServiceServicer):
    def __init__(self, service: SubscriptionService, mutations: Mutations) -> None:
        self._service = service
        self._mutations = mutations

    # --- products ----------------------------------------------------------------------------

    async def CreateProduct(
        self, request: subscription_pb2.CreateProductRequest, context: Context
    ) -> subscription_pb2.Product:
        merchant_id = current_call().require_merchant()
        new = NewProduct(
            name=validation.text(
                "name", request.name, maximum=PRODUCT_NAME_LENGTH_MAX, required=True
            ),
            description=validation.text(
                "description", request.description, maximum=DESCRIPTION_LENGTH_MAX
            ),
            active=request.active if request.HasField("active") else True,
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> subscription_pb2.Product:
            return product_message(await self._service.create_product(connection, merchant_id, new))

        return await self._mutations.for_merchant(
            merchant_id, request, subscription_pb2.Product, change
        )

    async def GetProduct(
        self, request: subscription_pb2.GetProductRequest, context: Context
    ) -> subscription_pb2.Product:
        merchant_id = current_call().require_merchant()
        product_id = validation.object_id("id", request.id, Prefix.PRODUCT)
        return product_message(await self._service.get_product(merchant_id, product_id))

    async def ListProducts(
        self, request: subscription_pb2.ListProductsRequest, context: Context
    ) -> subscription_pb2.ListProductsResponse:
        merchant_id = current_call().require_merchant()
        page = await self._service.list_products(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.PRODUCT, required=False
            ),
            request.active if request.HasField("active") else None,
        )
        return subscription_pb2.ListProductsResponse(
            data=[product_message(product) for product in page.data], has_more=page.has_more
        )

    # --- prices ------------------------------------------------------------------------------

    async def CreatePrice(
        self, request: subscription_pb2.CreatePriceRequest, context: Context
    ) -> subscription_pb2.Price:
        merchant_id = current_call().require_merchant()
        product_id = validation.object_id("product", request.product, Prefix.PRODUCT)
        currency = validation.currency("currency", request.currency)
        new = NewPrice(
            product_id=product_id,
            unit_amount=validation.amount("unit_amount", request.unit_amount, currency),
            currency=currency,
            recurring=recurring(request.recurring) if request.HasField("recurring") else None,
            nickname=validation.text("nickname", request.nickname, maximum=NICKNAME_LENGTH_MAX),
            active=request.active if request.HasField("active") else True,
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> subscription_pb2.Price:
            return price_message(await self._service.create_price(connection, merchant_id, new))

        return await self._mutations.for_merchant(
            merchant_id, request, subscription_pb2.Price, change
        )

    async def GetPrice(
        self, request: subscription_pb2.GetPriceRequest, context: Context
    ) -> subscription_pb2.Price:
        merchant_id = current_call().require_merchant()
        price_id = validation.object_id("id", request.id, Prefix.PRICE)
        return price_message(await self._service.get_price(merchant_id, price_id))

    async def ListPrices(
        self, request: subscription_pb2.ListPricesRequest, context: Context
    ) -> subscription_pb2.ListPricesResponse:
        merchant_id = current_call().require_merchant()
        page = await self._service.list_prices(
            merchant_id,
            validation.list_limit(request.limit),
            validation.object_id(
                "starting_after", request.starting_after, Prefix.PRICE, required=False
            ),
            validation.object_id("product", request.product, Prefix.PRODUCT, required=False),
            request.active if request.HasField("active") else None,
        )
        return subscription_pb2.ListPricesResponse(
            data=[price_message(price) for price in page.data], has_more=page.has_more
        )

    # --- test clocks -------------------------------------------------------------------------

    async def CreateTestClock(
        self, request: subscription_pb2.CreateTestClockRequest, context: Context
    ) -> subscription_pb2.TestClock:
        merchant_id = current_call().require_merchant()
        new = NewTestClock(
            frozen_time=frozen_time("frozen_time", request.frozen_time),
            name=validation.text("name", request.name, maximum=CLOCK_NAME_LENGTH_MAX),
            metadata=validation.metadata("metadata", request.metadata),
        )

        async def change(connection: AsyncConnection) -> subscription_pb2.TestClock:
            return clock_message(
                await self._service.create_test_clock(connection, merchant_id, new)
            )

        return await self._mutations.for_merchant(
            merchant_id, request, subscription_pb2.TestClock, change
        )

    async def GetTestClock(
        self, request: subscription_pb2.GetTestClockRequest, context: Context
    ) -> subscription_pb2.TestClock:
        merchant_id = current_call().require_merchant()
        clock_id = validation.object_id("id", request.id, Prefix.TEST_CLOCK)
        return clock_message(await self._service.get_test_clock(merchant_id, clock_id))

    # --- not built yet -----------------------------------------------------------------------

    async def CreateSubscription(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("CreateSubscription")

    async def GetSubscription(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("GetSubscription")

    async def ListSubscriptions(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("ListSubscriptions")

    async def UpdateSubscription(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("UpdateSubscription")

    async def CancelSubscription(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("CancelSubscription")

    async def GetInvoice(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("GetInvoice")

    async def ListInvoices(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("ListInvoices")

    async def PayInvoice(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("PayInvoice")

    async def VoidInvoice(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("VoidInvoice")

    async def AdvanceTestClock(self, request: Message, context: Context) -> NoReturn:
        _not_implemented("AdvanceTestClock")


def recurring(message: subscription_pb2.Recurring) -> Recurring:
    """A recurring price's interval, checked: at least one interval, at most one year in all."""
    if message.interval == subscription_pb2.RECURRING_INTERVAL_UNSPECIFIED:
        raise missing("recurring.interval")
    interval = INTERVALS[validation.enum_value("recurring.interval", message.interval, INTERVALS)]
    maximum = INTERVAL_COUNT_MAX[interval]
    if not 1 <= message.interval_count <= maximum:
        raise invalid(
            "recurring.interval_count",
            f"must be 1 to {maximum} for {interval.value} intervals (at most one year in all)",
        )
    return Recurring(interval, message.interval_count)


def frozen_time(param: str, value: int) -> int:
    if value == 0:
        raise missing(param)
    if not 0 < value <= FROZEN_TIME_MAX:
        raise invalid(param, f"must be unix seconds between 1 and {FROZEN_TIME_MAX}")
    return value


def _not_implemented(method: str) -> NoReturn:
    raise ApiError(Reason.METHOD_NOT_IMPLEMENTED, method=f"SubscriptionService.{method}")
