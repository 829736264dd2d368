"""`charge.dispute.updated` carries Stripe's `data.previous_attributes`, as every other
`*.updated` event of paycore does (docs/webhooks.md): a webhook consumer that reads
`event.data.previous_attributes.status` to tell an inquiry escalated from evidence staged, or
a submission taken under review, found null there (found by a black-box probe: the events of
a dispute answered and won through the REST edge)."""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, event_pb2

from tests.dispute.support import disputed_payment, read_feed
from tests.payout.support import PayoutShop, World

S = dispute_pb2


async def _updates(shop: PayoutShop, dispute_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The dispute's charge.dispute.updated events, oldest first: (status, previous_attributes)."""
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="charge.dispute.updated", limit=100)
    )
    found = []
    for event in reversed(listed.data):
        data = S.Dispute()
        assert event.data.object.Unpack(data)
        if data.id == dispute_id:
            previous = MessageToDict(event.data.previous_attributes)
            found.append((S.DisputeStatus.Name(data.status), previous))
    return found


async def test_an_answered_chargeback_says_what_each_update_changed(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 2_000)
    dispute_id = disputed.dispute.id

    await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=dispute_id,
            evidence=S.DisputeEvidence(product_description="winning_evidence"),
            metadata={"case": "c-1"},
        )
    )
    await shop.client.disputes.UpdateDispute(S.UpdateDisputeRequest(id=dispute_id, submit=True))
    await read_feed(world)

    (staged, reviewed) = await _updates(shop, dispute_id)
    status, previous = staged
    assert status == "DISPUTE_STATUS_NEEDS_RESPONSE"
    assert previous["metadata"] == {"case": None}
    assert previous["evidence"]["product_description"] is None
    assert previous["evidence_details"]["has_evidence"] is False
    assert "status" not in previous
    status, previous = reviewed
    assert status == "DISPUTE_STATUS_UNDER_REVIEW"
    assert previous["status"] == "needs_response"
    assert previous["evidence_details"]["submission_count"] == 0
    assert "evidence" not in previous and "metadata" not in previous
    await shop.assert_books_balance()
    await shop.close()


async def test_an_escalated_inquiry_says_it_was_an_inquiry(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_INQUIRY, 3_000)
    dispute_id = disputed.dispute.id

    await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=dispute_id,
            evidence=S.DisputeEvidence(uncategorized_text="losing_evidence"),
            submit=True,
        )
    )
    await read_feed(world)

    updates = await _updates(shop, dispute_id)
    assert [status for status, _ in updates] == [
        "DISPUTE_STATUS_WARNING_UNDER_REVIEW",
        "DISPUTE_STATUS_NEEDS_RESPONSE",
    ]
    under_review, escalated = (previous for _, previous in updates)
    assert under_review["status"] == "warning_needs_response"
    assert escalated["status"] == "warning_under_review"
    assert escalated["fee"] == 0
    assert escalated["balance_transactions"] == []
    await shop.assert_books_balance()
    await shop.close()
