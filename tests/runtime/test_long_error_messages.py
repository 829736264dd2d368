"""An error whose message quotes a long value the caller sent (ListEvents' `type: 'xxx...' is
not an event type`) is still INVALID_ARGUMENT naming the field. gRPC clients refuse trailing
metadata over 8 KiB (soft) / 16 KiB (hard), and the message travels twice in it (grpc-message
and the Status in grpc-status-details-bin): unbounded, the client read RESOURCE_EXHAUSTED
"received metadata size exceeds hard limit" (and the REST edge answered 429 with that text:
tests/edge/test_malformed.py). So does a param that names a key the caller sent (a metadata
key too long: `metadata[<the key>]`)."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.runtime.interceptors.errors import MESSAGE_CHARS_MAX, PARAM_CHARS_MAX
from paycore.v1 import customer_pb2, event_pb2

from tests.helpers import MerchantFixture, rich_error


@pytest.mark.parametrize("length", [3_000, 9_000, 200_000])
async def test_a_long_value_quoted_in_an_error_is_invalid_argument_naming_it(
    merchant: MerchantFixture, length: int
) -> None:
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.events.ListEvents(event_pb2.ListEventsRequest(type="x" * length))
    error = rich_error(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error.message[:300]
    assert error.reason == "PARAMETER_INVALID"
    assert error.param == "type"
    assert len(error.message) <= MESSAGE_CHARS_MAX
    assert error.message.startswith("type: 'xxx")


@pytest.mark.parametrize("length", [41, 9_000, 200_000])
async def test_a_metadata_key_too_long_is_named_as_sent_within_the_bound(
    merchant: MerchantFixture, length: int
) -> None:
    key = "k" * (length - 1) + "z"
    with pytest.raises(aio.AioRpcError) as raised:
        await merchant.client.customers.CreateCustomer(
            customer_pb2.CreateCustomerRequest(name="Ada", metadata={key: "v"})
        )
    error = rich_error(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error.message[:300]
    assert error.reason == "PARAMETER_INVALID"
    if length < PARAM_CHARS_MAX - len("metadata[]"):
        assert error.param == f"metadata[{key}]"
    else:
        assert error.param == f"metadata[{key}"[: PARAM_CHARS_MAX - 3] + "..."
