"""The REST edge names a bad parameter as Stripe does, in brackets (`card[number]`,
`items[0][price]`, `created[gt]`, `metadata[order_id]`), so that merchant code comparing
`error.param` with Stripe's spelling works; gRPC's ErrorInfo keeps the dotted field path."""

from __future__ import annotations

import pytest
import stripe
from grpc import aio
from paycore.client import connect
from paycore.ids import Prefix, new_id
from paycore.v1 import customer_pb2

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread
from tests.helpers import rich_error
from tests.payment.shop import PayIn


async def test_rest_params_are_bracketed_and_grpc_keeps_dots(
    edge_merchant: EdgeMerchant, payin: PayIn
) -> None:
    def scenario() -> dict[str, str | None]:
        sdk = client(edge_merchant)
        params: dict[str, str | None] = {}
        with pytest.raises(stripe.CardError) as card:  # 402 card_error, as Stripe's
            sdk.v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2034},
                }
            )
        params["card"] = card.value.param
        customer = sdk.v1.customers.create(params={"name": "Ada"})
        with pytest.raises(stripe.InvalidRequestError) as price:
            sdk.v1.subscriptions.create(
                params={"customer": customer.id, "items": [{"price": new_id(Prefix.PRICE, 0)}]}
            )
        params["items"] = price.value.param
        with pytest.raises(stripe.InvalidRequestError) as created:
            sdk.v1.customers.list(params={"created": {"gt": -1}})
        params["created"] = created.value.param
        with pytest.raises(stripe.InvalidRequestError) as metadata:
            sdk.v1.customers.create(params={"metadata": {"order_id": "x" * 501}})
        params["metadata"] = metadata.value.param
        return params

    assert await in_thread(scenario) == {
        "card": "card[number]",
        "items": "items[0][price]",
        "created": "created[gt]",
        "metadata": "metadata[order_id]",
    }
    async with connect(payin.target, edge_merchant.secret_key) as paycore:
        with pytest.raises(aio.AioRpcError) as refused:
            await paycore.customers.CreatePaymentMethod(
                customer_pb2.CreatePaymentMethodRequest(
                    type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
                    card=customer_pb2.CreatePaymentMethodRequest.Card(
                        number="4242424242424241", exp_month=12, exp_year=2034
                    ),
                )
            )
    assert rich_error(refused.value).metadata["param"] == "card.number"


async def test_the_message_names_the_parameter_as_param_does(edge_merchant: EdgeMerchant) -> None:
    """The message a developer logs spells the parameter as `param` does (Stripe's brackets),
    not the server's dotted path."""

    def scenario() -> tuple[str | None, str]:
        sdk = client(edge_merchant)
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.payment_intents.create(
                params={"amount": 100, "currency": "usd", "transfer_data": {"destination": "x"}}
            )
        return refused.value.param, refused.value.user_message or ""

    param, message = await in_thread(scenario)
    assert param == "transfer_data[destination]"
    assert message.startswith("transfer_data[destination] ") and "transfer_data." not in message
