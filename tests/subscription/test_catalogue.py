"""Products and prices through gRPC: a real server, real PostgreSQL (two shards) and Redis."""

from __future__ import annotations

import re
from typing import Any

import grpc
from paycore.client import idempotency_key
from paycore.ids import Prefix, logical_shard_of
from paycore.v1 import event_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import MerchantFixture
from tests.subscription.support import MONTHLY, OperatorFor, new_price, new_product

PRICE_FIELDS = ("id", "product", "unit_amount", "currency", "type", "recurring", "active")


async def test_a_product_is_created_on_the_merchants_shard_reads_back_and_is_an_event(
    merchant: MerchantFixture,
) -> None:
    created = await new_product(
        merchant.client, name=" Gold plan ", description="Everything", metadata={"tier": "3"}
    )
    assert re.match(r"^prod_[0-9A-Za-z]{22}$", created.id)
    assert logical_shard_of(created.id, Prefix.PRODUCT) == logical_shard_of(
        merchant.merchant.id, Prefix.ACCOUNT
    )
    assert (created.name, created.description, created.active) == ("Gold plan", "Everything", True)
    assert created.created > 0 and dict(created.metadata) == {"tier": "3"}
    fetched = await merchant.client.subscriptions.GetProduct(
        subscription_pb2.GetProductRequest(id=created.id)
    )
    assert fetched == created
    events = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="product.created")
    )
    assert [event.type for event in events.data] == ["product.created"]
    recorded = subscription_pb2.Product()
    assert events.data[0].data.object.Unpack(recorded) and recorded == created


async def test_products_list_newest_first_in_pages_and_by_active_flag(
    merchant: MerchantFixture,
) -> None:
    first = await new_product(merchant.client, name="A")
    retired = await new_product(merchant.client, name="B", active=False)
    last = await new_product(merchant.client, name="C")
    assert not retired.active

    async def listed(**fields: Any) -> tuple[list[str], bool]:
        page = await merchant.client.subscriptions.ListProducts(
            subscription_pb2.ListProductsRequest(**fields)
        )
        return [product.id for product in page.data], page.has_more

    assert await listed() == ([last.id, retired.id, first.id], False)
    assert await listed(limit=2) == ([last.id, retired.id], True)
    assert await listed(limit=2, starting_after=retired.id) == ([first.id], False)
    assert await listed(active=True) == ([last.id, first.id], False)
    assert await listed(active=False) == ([retired.id], False)


async def test_recurring_and_one_time_prices_read_back_and_are_events(
    merchant: MerchantFixture,
) -> None:
    product = await new_product(merchant.client)
    monthly = await new_price(
        merchant.client,
        product.id,
        unit_amount=1500,
        currency="USD",
        recurring=MONTHLY,
        nickname="Monthly",
        metadata={"plan": "gold"},
    )
    assert re.match(r"^price_[0-9A-Za-z]{22}$", monthly.id)
    assert (monthly.product, monthly.unit_amount, monthly.currency) == (product.id, 1500, "usd")
    assert monthly.type == subscription_pb2.PRICE_TYPE_RECURRING
    assert monthly.recurring == MONTHLY
    assert monthly.active and monthly.nickname == "Monthly"
    assert dict(monthly.metadata) == {"plan": "gold"}
    setup_fee = await new_price(merchant.client, product.id, unit_amount=500, currency="jpy")
    assert setup_fee.type == subscription_pb2.PRICE_TYPE_ONE_TIME
    assert not setup_fee.HasField("recurring") and setup_fee.currency == "jpy"
    for price in (monthly, setup_fee):
        fetched = await merchant.client.subscriptions.GetPrice(
            subscription_pb2.GetPriceRequest(id=price.id)
        )
        assert fetched == price
    events = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="price.created")
    )
    assert [event.data.object.TypeName() for event in events.data] == ["paycore.v1.Price"] * 2


async def test_every_interval_up_to_one_year_in_all(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    product = await new_product(operator)
    for interval, maximum in [
        (subscription_pb2.RECURRING_INTERVAL_DAY, 365),
        (subscription_pb2.RECURRING_INTERVAL_WEEK, 52),
        (subscription_pb2.RECURRING_INTERVAL_MONTH, 12),
        (subscription_pb2.RECURRING_INTERVAL_YEAR, 1),
    ]:
        for count in (1, maximum):
            recurring = subscription_pb2.Recurring(interval=interval, interval_count=count)
            price = await new_price(operator, product.id, recurring=recurring)
            assert price.recurring == recurring
        too_long = subscription_pb2.Recurring(interval=interval, interval_count=maximum + 1)
        error = await failure(
            new_price(operator, product.id, recurring=too_long), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert (error.reason, error.param) == ("PARAMETER_INVALID", "recurring.interval_count")
        assert "at most one year" in error.message
    listed = await operator.subscriptions.ListPrices(subscription_pb2.ListPricesRequest(limit=100))
    assert len(listed.data) == 8


async def test_an_interval_without_a_count_bills_every_interval_as_at_stripe(
    merchant: MerchantFixture,
) -> None:
    product = await new_product(merchant.client)
    weekly = subscription_pb2.Recurring(interval=subscription_pb2.RECURRING_INTERVAL_WEEK)
    assert not weekly.HasField("interval_count")
    price = await new_price(merchant.client, product.id, recurring=weekly)
    assert price.recurring == subscription_pb2.Recurring(
        interval=subscription_pb2.RECURRING_INTERVAL_WEEK, interval_count=1
    )
    assert price.recurring.HasField("interval_count")


async def test_bad_prices_are_refused_naming_the_field_and_create_nothing(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    product = await new_product(operator)
    retired = await new_product(operator, name="Old", active=False)
    unknown_product = "prod_" + "0" * 22
    interval_count_zero = subscription_pb2.Recurring(
        interval=subscription_pb2.RECURRING_INTERVAL_MONTH, interval_count=0
    )
    cases: list[tuple[dict[str, Any], grpc.StatusCode, str, str]] = [
        (
            {"product": unknown_product},
            grpc.StatusCode.INVALID_ARGUMENT,
            "RESOURCE_MISSING",
            "product",
        ),
        ({"product": ""}, grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_MISSING", "product"),
        ({"product": "prod_x"}, grpc.StatusCode.INVALID_ARGUMENT, "ID_MALFORMED", "product"),
        ({"product": retired.id}, grpc.StatusCode.INVALID_ARGUMENT, "PRODUCT_INACTIVE", "product"),
        ({"unit_amount": 0}, grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_INVALID", "unit_amount"),
        ({"unit_amount": -5}, grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_INVALID", "unit_amount"),
        (
            {"unit_amount": 10**12, "currency": "jpy"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "AMOUNT_TOO_LARGE",
            "unit_amount",
        ),
        ({"currency": "xyz"}, grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_INVALID", "currency"),
        ({"currency": ""}, grpc.StatusCode.INVALID_ARGUMENT, "PARAMETER_MISSING", "currency"),
        (
            {"recurring": interval_count_zero},
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_INVALID",
            "recurring.interval_count",
        ),
        (
            {"recurring": subscription_pb2.Recurring(interval_count=1)},
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_MISSING",
            "recurring.interval",
        ),
        (
            {"recurring": subscription_pb2.Recurring(interval=99, interval_count=1)},  # type: ignore[arg-type]
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_UNKNOWN_ENUM",
            "recurring.interval",
        ),
        (
            {"nickname": "n" * 251},
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_TOO_LONG",
            "nickname",
        ),
        (
            {"metadata": {"k": "v" * 501}},
            grpc.StatusCode.INVALID_ARGUMENT,
            "PARAMETER_TOO_LONG",
            "metadata[k]",
        ),
    ]
    for fields, code, reason, param in cases:
        request: dict[str, Any] = {
            "product": product.id,
            "unit_amount": 1500,
            "currency": "usd",
            "recurring": MONTHLY,
            **fields,
        }
        error = await failure(
            operator.subscriptions.CreatePrice(subscription_pb2.CreatePriceRequest(**request)),
            code,
        )
        assert (error.reason, error.param) == (reason, param), (fields, error)
    listed = await operator.subscriptions.ListPrices(subscription_pb2.ListPricesRequest())
    assert list(listed.data) == []
    events = await operator.events.ListEvents(event_pb2.ListEventsRequest(type="price.created"))
    assert list(events.data) == []


async def test_bad_products_are_refused_naming_the_field_and_create_nothing(
    merchant: MerchantFixture,
) -> None:
    cases = [
        (subscription_pb2.CreateProductRequest(), "name"),
        (subscription_pb2.CreateProductRequest(name="   "), "name"),
        (subscription_pb2.CreateProductRequest(name="n" * 251), "name"),
        (subscription_pb2.CreateProductRequest(name="A", description="d" * 1001), "description"),
        (subscription_pb2.CreateProductRequest(name="A", metadata={"": "v"}), "metadata[]"),
        (subscription_pb2.CreateProductRequest(name="A\x00"), "name"),
        (subscription_pb2.CreateProductRequest(name="A", metadata={"k\x00": "v"}), "metadata"),
    ]
    for request, param in cases:
        error = await failure(
            merchant.client.subscriptions.CreateProduct(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert error.param == param, (param, error)
    listed = await merchant.client.subscriptions.ListProducts(
        subscription_pb2.ListProductsRequest()
    )
    assert list(listed.data) == []


async def test_prices_list_newest_first_by_product_and_active_flag(
    merchant: MerchantFixture, admin_client_for: OperatorFor
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    gold = await new_product(operator, name="Gold")
    silver = await new_product(operator, name="Silver")
    gold_monthly = await new_price(operator, gold.id, recurring=MONTHLY)
    gold_old = await new_price(operator, gold.id, unit_amount=1200, active=False)
    silver_monthly = await new_price(operator, silver.id, unit_amount=900, recurring=MONTHLY)

    async def listed(**fields: Any) -> tuple[list[str], bool]:
        page = await operator.subscriptions.ListPrices(subscription_pb2.ListPricesRequest(**fields))
        return [price.id for price in page.data], page.has_more

    everything = [silver_monthly.id, gold_old.id, gold_monthly.id]
    assert await listed() == (everything, False)
    assert await listed(limit=1) == (everything[:1], True)
    assert await listed(limit=1, starting_after=everything[0]) == (everything[1:2], True)
    assert await listed(product=gold.id) == ([gold_old.id, gold_monthly.id], False)
    assert await listed(product=gold.id, active=True) == ([gold_monthly.id], False)
    assert await listed(active=False) == ([gold_old.id], False)
    unknown = await failure(listed(product="prod_" + "0" * 22), grpc.StatusCode.INVALID_ARGUMENT)
    assert unknown.param == "product"
    bad_limit = await failure(listed(limit=101), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_limit.param == "limit"


async def test_another_merchants_products_and_prices_do_not_exist_for_a_merchant(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    product = await new_product(merchant.client)
    price = await new_price(merchant.client, product.id, recurring=MONTHLY)
    other = other_merchant.client.subscriptions
    hidden_product = await failure(
        other.GetProduct(subscription_pb2.GetProductRequest(id=product.id)),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (hidden_product.reason, hidden_product.param) == ("RESOURCE_MISSING", "id")
    hidden_price = await failure(
        other.GetPrice(subscription_pb2.GetPriceRequest(id=price.id)), grpc.StatusCode.NOT_FOUND
    )
    assert hidden_price.param == "id"
    borrowed = await failure(
        new_price(other_merchant.client, product.id), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert borrowed.param == "product"
    filtered = await failure(
        other.ListPrices(subscription_pb2.ListPricesRequest(product=product.id)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert filtered.param == "product"
    assert list((await other.ListProducts(subscription_pb2.ListProductsRequest())).data) == []
    assert list((await other.ListPrices(subscription_pb2.ListPricesRequest())).data) == []


async def test_creating_with_an_idempotency_key_replays_and_refuses_other_terms(
    merchant: MerchantFixture,
) -> None:
    subscriptions = merchant.client.subscriptions
    request = subscription_pb2.CreateProductRequest(name="Gold")
    first = await subscriptions.CreateProduct(request, metadata=idempotency_key("prod-1"))
    again = await subscriptions.CreateProduct(request, metadata=idempotency_key("prod-1"))
    assert again == first
    reused = await failure(
        subscriptions.CreateProduct(
            subscription_pb2.CreateProductRequest(name="Silver"),
            metadata=idempotency_key("prod-1"),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reused.reason == "IDEMPOTENCY_KEY_REUSED"
    price_request = subscription_pb2.CreatePriceRequest(
        product=first.id, unit_amount=700, currency="eur", recurring=MONTHLY
    )
    price = await subscriptions.CreatePrice(price_request, metadata=idempotency_key("price-1"))
    price_again = await subscriptions.CreatePrice(
        price_request, metadata=idempotency_key("price-1")
    )
    assert price_again == price
    products = await subscriptions.ListProducts(subscription_pb2.ListProductsRequest())
    prices = await subscriptions.ListPrices(subscription_pb2.ListPricesRequest())
    assert [product.id for product in products.data] == [first.id]
    assert [listed.id for listed in prices.data] == [price.id]
