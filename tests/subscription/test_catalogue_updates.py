"""UpdateProduct and UpdatePrice through gRPC: only the fields given change, metadata merges,
"" clears a description or nickname, `product.updated` / `price.updated` carry what changed,
an idempotency key replays, and an inactive price takes no new subscription."""

from __future__ import annotations

import grpc
from paycore.client import idempotency_key
from paycore.v1 import event_pb2, subscription_pb2

from tests.customer.support import failure
from tests.helpers import MerchantFixture
from tests.subscription.support import MONTHLY, new_price, new_product


async def test_a_product_changes_only_the_fields_given_and_records_product_updated(
    merchant: MerchantFixture,
) -> None:
    subscriptions = merchant.client.subscriptions
    product = await new_product(
        merchant.client, name="Gold", description="All", metadata={"a": "1", "b": "2"}
    )
    request = subscription_pb2.UpdateProductRequest(
        id=product.id, name="Platinum", active=False, metadata={"a": "", "c": "3"}
    )
    updated = await subscriptions.UpdateProduct(request, metadata=idempotency_key("up-1"))
    assert (updated.name, updated.description, updated.active) == ("Platinum", "All", False)
    assert dict(updated.metadata) == {"b": "2", "c": "3"}
    again = await subscriptions.UpdateProduct(request, metadata=idempotency_key("up-1"))
    assert again == updated
    cleared = await subscriptions.UpdateProduct(
        subscription_pb2.UpdateProductRequest(id=product.id, description="")
    )
    assert (cleared.name, cleared.description) == ("Platinum", "")
    read = await subscriptions.GetProduct(subscription_pb2.GetProductRequest(id=product.id))
    assert read == cleared
    unchanged = await subscriptions.UpdateProduct(
        subscription_pb2.UpdateProductRequest(id=product.id, name="Platinum")
    )
    assert unchanged == cleared
    events = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="product.updated")
    )
    assert len(events.data) == 2  # the replay and the update that changed nothing record none
    newest = subscription_pb2.Product()
    assert events.data[0].data.object.Unpack(newest) and newest == cleared
    assert dict(events.data[0].data.previous_attributes) == {"description": "All"}


async def test_bad_product_updates_name_the_field_and_change_nothing(
    merchant: MerchantFixture,
) -> None:
    subscriptions = merchant.client.subscriptions
    product = await new_product(merchant.client, name="Gold")
    for request, param in (
        (subscription_pb2.UpdateProductRequest(id=product.id, name=""), "name"),
        (subscription_pb2.UpdateProductRequest(id=product.id, name="x" * 251), "name"),
        (subscription_pb2.UpdateProductRequest(id=product.id, description="x" * 1001), None),
    ):
        error = await failure(
            subscriptions.UpdateProduct(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert error.param == (param or "description")
    missing = await failure(
        subscriptions.UpdateProduct(
            subscription_pb2.UpdateProductRequest(id="prod_" + "0" * 22, name="Silver")
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert missing.param == "id"
    read = await subscriptions.GetProduct(subscription_pb2.GetProductRequest(id=product.id))
    assert read == product


async def test_a_price_changes_active_nickname_and_metadata_and_records_price_updated(
    merchant: MerchantFixture,
) -> None:
    subscriptions = merchant.client.subscriptions
    product = await new_product(merchant.client)
    price = await new_price(
        merchant.client, product.id, recurring=MONTHLY, nickname="Monthly", metadata={"a": "1"}
    )
    updated = await subscriptions.UpdatePrice(
        subscription_pb2.UpdatePriceRequest(id=price.id, nickname="", metadata={"b": "2"})
    )
    assert (updated.nickname, dict(updated.metadata), updated.active) == (
        "",
        {"a": "1", "b": "2"},
        True,
    )
    assert (updated.unit_amount, updated.currency) == (price.unit_amount, price.currency)
    inactive = await subscriptions.UpdatePrice(
        subscription_pb2.UpdatePriceRequest(id=price.id, active=False)
    )
    assert not inactive.active
    listed = await subscriptions.ListPrices(subscription_pb2.ListPricesRequest(active=False))
    assert [one.id for one in listed.data] == [price.id]
    events = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="price.updated")
    )
    assert [dict(event.data.previous_attributes) for event in events.data] == [
        {"active": True},
        {"nickname": "Monthly", "metadata": {"b": None}},
    ]
    bad = await failure(
        subscriptions.UpdatePrice(
            subscription_pb2.UpdatePriceRequest(id=price.id, nickname="x" * 251)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad.param == "nickname"
