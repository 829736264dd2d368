"""What the customer tests share: test cards and calls that make a customer or a card."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.v1 import customer_pb2

from tests.helpers import RichError, rich_error

VISA = "4242424242424242"
AMEX = "378282246310005"
MASTERCARD = "5555555555554444"
EXP_YEAR = 2031


def card_request(
    number: str = VISA,
    cvc: str = "123",
    exp_month: int = 12,
    exp_year: int = EXP_YEAR,
    **fields: Any,
) -> customer_pb2.CreatePaymentMethodRequest:
    return customer_pb2.CreatePaymentMethodRequest(
        type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
        card=customer_pb2.CreatePaymentMethodRequest.Card(
            number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc
        ),
        **fields,
    )


async def new_card(
    client: Paycore, number: str = VISA, **fields: Any
) -> customer_pb2.PaymentMethod:
    cvc = "1234" if number.startswith(("34", "37")) else "123"
    created: customer_pb2.PaymentMethod = await client.customers.CreatePaymentMethod(
        card_request(number, cvc=cvc, **fields)
    )
    return created


async def new_customer(client: Paycore, **fields: Any) -> customer_pb2.Customer:
    created: customer_pb2.Customer = await client.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(**fields)
    )
    return created


async def failure(call: Any, code: grpc.StatusCode) -> RichError:
    """Awaits a call that must fail with `code`; its rich error."""
    with pytest.raises(aio.AioRpcError) as raised:
        await call
    error = rich_error(raised.value)
    assert error.code == code, error
    return error
