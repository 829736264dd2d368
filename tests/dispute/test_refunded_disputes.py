"""A charge refunded in part before the buyer's bank disputes it is disputed for what the buyer
still paid, not for the whole capture; one refunded in full is not disputed at all. Found by the
audit of one merchant's money life: a 4000 charge refunded 1000 was then disputed for 4000, so
the merchant gave the buyer 5000 (and the fee) for a 4000 payment, while the ledger and the PSP's
report agreed with each other (a bank disputes at most the amount not refunded)."""

from __future__ import annotations

from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2

from tests.dispute.support import disputed_payment, pending, read_feed
from tests.payment.shop import fee
from tests.payout.support import World

FEE = 1500
S = dispute_pb2


async def test_a_partly_refunded_charge_is_disputed_for_what_was_not_refunded(
    world: World,
) -> None:
    shop = await world.shop()
    intent = await shop.pay(cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    await shop.refund(intent.id, 3_000)
    before = await pending(shop)
    assert before == 10_000 - fee(10_000) - 3_000
    world.clock.advance(61)
    await read_feed(world)

    (dispute,) = (await shop.client.disputes.ListDisputes(S.ListDisputesRequest())).data
    assert (dispute.amount, dispute.currency, dispute.fee) == (7_000, "usd", FEE)
    assert await pending(shop) == before - 7_000 - FEE
    await shop.assert_books_balance()


async def test_a_charge_refunded_in_full_is_not_disputed(world: World) -> None:
    shop = await world.shop()
    intent = await shop.pay(cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    await shop.refund(intent.id, 10_000)
    before = await pending(shop)
    world.clock.advance(61)
    await read_feed(world)

    assert list((await shop.client.disputes.ListDisputes(S.ListDisputesRequest())).data) == []
    assert await pending(shop) == before == -fee(10_000)
    await shop.assert_books_balance()


async def test_an_inquiry_escalated_after_a_partial_refund_is_disputed_for_the_rest(
    world: World,
) -> None:
    """A refund made while the bank only inquires (allowed: no money moved yet) is not taken
    again when the inquiry escalates to a chargeback."""
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_INQUIRY, 10_000)
    assert disputed.dispute.status == S.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE
    await shop.refund(disputed.intent.id, 2_500)
    before = await pending(shop)
    await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=disputed.dispute.id,
            evidence=S.DisputeEvidence(uncategorized_text="losing_evidence"),
            submit=True,
        )
    )
    await read_feed(world)

    escalated = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert escalated.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
    assert (escalated.amount, escalated.fee) == (7_500, FEE)
    assert await pending(shop) == before - 7_500 - FEE
    await shop.assert_books_balance()


async def test_an_inquiry_refunded_in_full_closes_instead_of_escalating(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_INQUIRY, 5_000)
    await shop.refund(disputed.intent.id, 5_000)
    before = await pending(shop)
    await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=disputed.dispute.id,
            evidence=S.DisputeEvidence(uncategorized_text="losing_evidence"),
            submit=True,
        )
    )
    await read_feed(world)

    closed = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert closed.status == S.DISPUTE_STATUS_WARNING_CLOSED
    assert list(closed.balance_transaction_ids) == []
    assert await pending(shop) == before
    await shop.assert_books_balance()
