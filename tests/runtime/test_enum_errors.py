"""A request's enum field holding a value the call does not take (proto3 enums are open: any
number arrives) is refused naming the field and the values it takes: the proto names over gRPC,
the lowercase names a JSON client sends at the REST edge, never the number alone."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.client import Paycore
from paycore.ids import Prefix, new_id
from paycore.v1 import executor_pb2, payment_pb2, payout_pb2

from tests.helpers import MerchantFixture, rich_error


async def test_an_unknown_number_over_grpc_is_told_the_proto_names(
    merchant: MerchantFixture,
) -> None:
    request = payout_pb2.ListPayoutsRequest(status=7)  # type: ignore[arg-type]

    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.payouts.ListPayouts(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rich_error(raised.value)
    assert (error.reason, error.param) == ("PARAMETER_UNKNOWN_ENUM", "status")
    assert raised.value.details() == (
        "status must be one of PAYOUT_STATUS_PENDING, PAYOUT_STATUS_IN_TRANSIT,"
        " PAYOUT_STATUS_PAID, PAYOUT_STATUS_FAILED, PAYOUT_STATUS_CANCELED (not 7)"
    )


async def test_a_hand_made_choice_over_grpc_names_the_values_it_takes(
    merchant: MerchantFixture,
) -> None:
    request = payment_pb2.CreatePaymentIntentRequest(
        amount=1000,
        currency="usd",
        capture_method=9,  # type: ignore[arg-type]
    )

    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.payments.CreatePaymentIntent(request)

    assert rich_error(raised.value).param == "capture_method"
    assert raised.value.details() == (
        "capture_method must be one of CAPTURE_METHOD_AUTOMATIC, CAPTURE_METHOD_MANUAL,"
        " CAPTURE_METHOD_AUTOMATIC_ASYNC (not 9)"
    )


async def test_a_defined_value_the_call_does_not_take_is_named_not_numbered(
    admin: Paycore,
) -> None:
    request = executor_pb2.ExecutePaymentOrderRequest(
        payment_intent=new_id(Prefix.PAYMENT_INTENT, 0),
        operation=executor_pb2.EXECUTION_OPERATION_SETUP,
    )

    with pytest.raises(aio.AioRpcError) as raised:
        await admin.executor.ExecutePaymentOrder(request)

    assert rich_error(raised.value).param == "operation"
    assert raised.value.details() == (
        "operation must be one of EXECUTION_OPERATION_CHARGE, EXECUTION_OPERATION_AUTHORIZE,"
        " EXECUTION_OPERATION_CAPTURE, EXECUTION_OPERATION_VOID, EXECUTION_OPERATION_REFUND,"
        " EXECUTION_OPERATION_PAYOUT (not EXECUTION_OPERATION_SETUP)"
    )
