"""An INVALID_ARGUMENT answer names the field at fault twice: in its ErrorInfo's `param` (paycore's
own), and as a google.rpc.BadRequest field violation, the detail generic gRPC tooling (grpcurl,
Google's client libraries, a client built from reflection) reads for a bad argument (AIP-193).
A header at fault (`idempotency-key`) is no field of the request: ErrorInfo alone names it."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from paycore.client import error_details, idempotency_key
from paycore.v1 import customer_pb2, payment_pb2

from tests.helpers import MerchantFixture


def _status(error: aio.AioRpcError) -> status_pb2.Status:
    (details,) = [
        value for key, value in error.trailing_metadata() or () if key == "grpc-status-details-bin"
    ]
    assert isinstance(details, bytes)
    return status_pb2.Status.FromString(details)


def _violations(error: aio.AioRpcError) -> list[tuple[str, str, str]]:
    found = []
    for detail in _status(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [(v.field, v.reason, v.description) for v in bad.field_violations]
    return found


async def test_a_bad_field_is_a_bad_request_field_violation_naming_it(
    merchant: MerchantFixture,
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(email="not an email")
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(raised.value) == [("email", "PARAMETER_INVALID", raised.value.details())]
    details = error_details(raised.value)
    assert details.param == "email"
    assert details.field_violations == (("email", raised.value.details()),)


async def test_a_nested_field_is_named_by_its_path(merchant: MerchantFixture) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.customers.CreatePaymentMethod(
            customer_pb2.CreatePaymentMethodRequest(
                type=customer_pb2.PAYMENT_METHOD_TYPE_CARD,
                card=customer_pb2.CreatePaymentMethodRequest.Card(
                    number="4242", exp_month=12, exp_year=2034
                ),
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _, _ in _violations(raised.value)] == ["card.number"]


async def test_a_missing_object_another_field_names_is_a_violation_of_that_field(
    merchant: MerchantFixture,
) -> None:
    """RESOURCE_MISSING answered INVALID_ARGUMENT (a payment intent's `payment_method`)."""
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.payments.CreatePaymentIntent(
            payment_pb2.CreatePaymentIntentRequest(
                amount=100, currency="usd", payment_method="pm_035ASB3sLe9304IYWppFfU"
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(f, r) for f, r, _ in _violations(raised.value)] == [
        ("payment_method", "RESOURCE_MISSING")
    ]


async def test_other_answers_carry_no_field_violation(merchant: MerchantFixture) -> None:
    with pytest.raises(aio.AioRpcError) as missing:
        await merchant.client.customers.GetCustomer(
            customer_pb2.GetCustomerRequest(id="cus_035ASB3rfL9klbpbMH26um")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert _violations(missing.value) == []
    with pytest.raises(aio.AioRpcError) as header:
        await merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(name="Ada"), metadata=idempotency_key("k" * 300)
        )
    assert header.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(header.value).param == "idempotency-key"
    assert _violations(header.value) == []
