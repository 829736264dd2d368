"""CreatePrice with Stripe's `product_data` over gRPC: the product is made with the price in
the call's transaction; a price the domain refuses (the new product inactive) takes the
product with it (docs/subscriptions.md, "Products and prices")."""

from __future__ import annotations

import grpc
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import MerchantFixture

S = subscription_pb2


async def test_create_price_with_product_data_makes_the_product(
    merchant: MerchantFixture,
) -> None:
    api = merchant.client.subscriptions
    price = await api.CreatePrice(
        S.CreatePriceRequest(
            product_data=S.PriceProductData(name="Starter", metadata={"tier": "1"}),
            unit_amount=900,
            currency="usd",
        )
    )
    product = await api.GetProduct(S.GetProductRequest(id=price.product))
    assert (product.name, product.active, dict(product.metadata)) == (
        "Starter",
        True,
        {"tier": "1"},
    )
    assert price.type == S.PRICE_TYPE_ONE_TIME and price.unit_amount == 900

    retired = S.CreatePriceRequest(
        product_data=S.PriceProductData(name="Retired", active=False),
        unit_amount=900,
        currency="usd",
    )
    error = await failure(api.CreatePrice(retired), grpc.StatusCode.INVALID_ARGUMENT)
    assert (error.reason, error.param) == ("PRODUCT_INACTIVE", "product_data")
    listed = await api.ListProducts(S.ListProductsRequest())
    assert [p.id for p in listed.data] == [product.id]
