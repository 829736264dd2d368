"""An inquiry lost escalates to a chargeback that the merchant answers afresh (paycore clears
the staged evidence and the submission count, the bank's deadline runs again). The second
submission used to reach the PSP under the inquiry's key (`<dp_>/submit`) with other evidence:
the PSP refused it (the key was used for another request), the merchant saw
DISPUTE_PSP_REFUSED, and the chargeback could never be answered, so it was lost by default."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2

from tests.dispute.support import disputed_payment, event_types, pending, read_feed
from tests.payment.shop import fee
from tests.payout.support import PayoutShop, World

FEE = 1500
S = dispute_pb2


async def _submit(shop: PayoutShop, dispute_id: str, text: str) -> S.Dispute:
    answer: S.Dispute = await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=dispute_id, evidence=S.DisputeEvidence(uncategorized_text=text), submit=True
        )
    )
    return answer


async def test_an_escalated_inquiry_takes_its_chargeback_evidence_and_can_be_won(
    world: World,
) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_INQUIRY, 6_000)
    dispute_id = disputed.dispute.id
    inquired = await _submit(shop, dispute_id, "losing_evidence")
    assert inquired.status == S.DISPUTE_STATUS_WARNING_UNDER_REVIEW
    await read_feed(world)
    escalated = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute_id))
    assert escalated.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
    assert escalated.evidence_details.submission_count == 0
    assert await pending(shop) == 6_000 - fee(6_000) - 6_000 - FEE

    answered = await _submit(shop, dispute_id, "winning_evidence")

    assert answered.status == S.DISPUTE_STATUS_UNDER_REVIEW
    assert answered.evidence.uncategorized_text == "winning_evidence"
    assert answered.evidence_details.submission_count == 1
    sent = world.psp.count("operations WHERE operation = 'dispute_evidence'")
    assert sent == 2
    await read_feed(world)
    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute_id))
    assert won.status == S.DISPUTE_STATUS_WON
    assert await pending(shop) == 6_000 - fee(6_000) - FEE
    assert (await event_types(shop, dispute_id))[-2:] == [
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    await shop.assert_books_balance()
    await shop.close()
