"""Test clocks through gRPC: created READY at their frozen time, read back, test mode only;
AdvanceTestClock and the rest of billing answer UNIMPLEMENTED until billing is built."""

from __future__ import annotations

import re

import grpc
from paycore.client import Paycore, idempotency_key
from paycore.subscription.servicer.requests import FROZEN_TIME_MAX
from paycore.v1 import subscription_pb2

from tests.customer.support import failure
from tests.helpers import MerchantFixture, create_merchant

FROZEN_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z


async def test_a_clock_is_ready_at_its_frozen_time_and_reads_back(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    request = subscription_pb2.CreateTestClockRequest(
        frozen_time=FROZEN_TIME, name="Renewals", metadata={"case": "13 months"}
    )
    clock = await merchant.client.subscriptions.CreateTestClock(
        request, metadata=idempotency_key("clock-1")
    )
    assert re.match(r"^clock_[0-9A-Za-z]{22}$", clock.id)
    assert (clock.frozen_time, clock.name) == (FROZEN_TIME, "Renewals")
    assert clock.status == subscription_pb2.TEST_CLOCK_STATUS_READY
    assert clock.created > 0 and dict(clock.metadata) == {"case": "13 months"}
    replayed = await merchant.client.subscriptions.CreateTestClock(
        request, metadata=idempotency_key("clock-1")
    )
    assert replayed == clock
    fetched = await merchant.client.subscriptions.GetTestClock(
        subscription_pb2.GetTestClockRequest(id=clock.id)
    )
    assert fetched == clock
    hidden = await failure(
        other_merchant.client.subscriptions.GetTestClock(
            subscription_pb2.GetTestClockRequest(id=clock.id)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (hidden.reason, hidden.param) == ("RESOURCE_MISSING", "id")


async def test_bad_clocks_are_refused_naming_the_field(merchant: MerchantFixture) -> None:
    cases = [
        (subscription_pb2.CreateTestClockRequest(), "PARAMETER_MISSING", "frozen_time"),
        (
            subscription_pb2.CreateTestClockRequest(frozen_time=-1),
            "PARAMETER_INVALID",
            "frozen_time",
        ),
        (
            subscription_pb2.CreateTestClockRequest(frozen_time=FROZEN_TIME_MAX + 1),
            "PARAMETER_INVALID",
            "frozen_time",
        ),
        (
            subscription_pb2.CreateTestClockRequest(frozen_time=FROZEN_TIME, name="n" * 301),
            "PARAMETER_TOO_LONG",
            "name",
        ),
    ]
    for request, reason, param in cases:
        error = await failure(
            merchant.client.subscriptions.CreateTestClock(request),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert (error.reason, error.param) == (reason, param), error
    malformed = await failure(
        merchant.client.subscriptions.GetTestClock(subscription_pb2.GetTestClockRequest(id="x")),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert (malformed.reason, malformed.param) == ("ID_MALFORMED", "id")


async def test_a_live_merchant_gets_no_test_clock(admin: Paycore, target: str) -> None:
    live = await create_merchant(admin, target, "Live Co", livemode=True)
    assert live.merchant.secret_key.startswith("sk_live_")
    async with live.client as client:
        error = await failure(
            client.subscriptions.CreateTestClock(
                subscription_pb2.CreateTestClockRequest(frozen_time=FROZEN_TIME)
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
    assert error.reason == "TEST_CLOCK_LIVEMODE"
