"""A review as the REST edge renders it: while open, `closed` is null, as Stripe renders a
timestamp that has not happened (`canceled_at: null`), not 0, which reads as 1970; once
approved or rejected, the unix seconds it was closed. gRPC keeps 0 (proto3's unset)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio
from aiohttp import ClientSession
from paycore.client import Paycore
from paycore.config import Settings
from paycore.edge import start_edge
from paycore.v1 import fraud_pb2

from tests.fraud.support import REVIEW_EVERYTHING, returning_customer
from tests.helpers import MerchantFixture


@pytest_asyncio.fixture
async def operator_http(target: str, settings: Settings) -> AsyncIterator[ClientSession]:
    """The operator edge (the review routes are internal), with the admin token."""
    server = await start_edge(target, "127.0.0.1:0", operator_routes=True)
    headers = {"Authorization": f"Bearer {settings.admin_token}"}
    try:
        async with ClientSession(f"http://127.0.0.1:{server.port}", headers=headers) as http:
            yield http
    finally:
        await server.close()


async def test_an_open_review_has_closed_null_and_a_closed_one_its_time(
    merchant: MerchantFixture,
    admin_client_for: Callable[[str | None], Paycore],
    operator_http: ClientSession,
) -> None:
    operator = admin_client_for(merchant.merchant.id)
    await operator.fraud.UpdateRiskPolicy(REVIEW_EVERYTHING)
    assessment = await merchant.client.fraud.ScorePayment(returning_customer(merchant.merchant.id))
    on_grpc = await operator.fraud.GetReview(fraud_pb2.GetReviewRequest(id=assessment.review))
    assert (on_grpc.status, on_grpc.closed) == (fraud_pb2.REVIEW_STATUS_OPEN, 0)

    read = await operator_http.get(f"/v1/fraud/reviews/{assessment.review}")
    review = await read.json()
    assert read.status == 200, review
    assert (review["object"], review["status"], review["closed"]) == ("review", "open", None)
    assert isinstance(review["created"], int) and review["created"] > 0
    listed = await operator_http.get(
        "/v1/fraud/reviews", params={"merchant": merchant.merchant.id, "status": "open"}
    )
    assert [(found["id"], found["closed"]) for found in (await listed.json())["data"]] == [
        (assessment.review, None)
    ]
    # The review.opened event (a webhook's body) renders its review the same way.
    merchant_key = {"Authorization": f"Bearer {merchant.merchant.secret_key}"}
    events = await operator_http.get(
        "/v1/events", params={"type": "review.opened"}, headers=merchant_key
    )
    [opened] = (await events.json())["data"]
    assert (opened["data"]["object"]["id"], opened["data"]["object"]["closed"]) == (
        assessment.review,
        None,
    )

    approve = await operator_http.post(
        f"/v1/fraud/reviews/{assessment.review}/approve",
        data={"note": "called the customer"},
        headers={"Idempotency-Key": f"approve-{assessment.review}"},
    )
    approved = await approve.json()
    assert approve.status == 200, approved
    assert approved["status"] == "approved"
    assert isinstance(approved["closed"], int) and approved["closed"] >= review["created"]


async def test_the_openapi_document_says_closed_may_be_null(operator_http: ClientSession) -> None:
    document = await (await operator_http.get("/openapi.json")).json()
    review = document["components"]["schemas"]["Review"]["properties"]
    assert review["closed"]["type"] == ["integer", "null"]
    assert review["created"]["type"] == "integer"
