"""Disputes end to end on real PostgreSQL (two shards) and Redis, against the PSP simulator:
the money a chargeback takes and a win gives back, evidence staged and sent once, inquiries
that move nothing, refused refunds, and bad evidence that changes nothing."""

from __future__ import annotations

import grpc
import pytest
from paycore.dispute.models import EvidenceUpdate
from paycore.records import MetadataChange
from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, payment_pb2

from tests.dispute.support import disputed_payment, event_types, pending, read_feed
from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import DAY, PayoutShop, World

FEE = 1500
S = dispute_pb2


async def _update(
    shop: PayoutShop, dispute_id: str, key: str = "", *, submit: bool = False, **fields: str
) -> S.Dispute:
    request = S.UpdateDisputeRequest(
        id=dispute_id, evidence=S.DisputeEvidence(**fields), submit=submit
    )
    metadata = (("idempotency-key", key),) if key else None
    answer: S.Dispute = await shop.client.disputes.UpdateDispute(request, metadata=metadata)
    return answer


async def test_a_won_chargeback_withdraws_amount_and_fee_then_reinstates_the_amount(
    world: World,
) -> None:
    shop = await world.shop()
    intent = await shop.pay(cards.CARD_DISPUTE_FRAUDULENT, 10_000)
    before = await pending(shop)
    assert before == 10_000 - fee(10_000)
    world.clock.advance(61)
    await read_feed(world)
    dispute = (await shop.client.disputes.ListDisputes(S.ListDisputesRequest())).data[0]

    assert dispute.id.startswith("dp_")
    assert dispute.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
    assert dispute.reason == S.DISPUTE_REASON_FRAUDULENT
    assert (dispute.amount, dispute.currency, dispute.fee) == (10_000, "usd", FEE)
    assert dispute.payment_intent == intent.id
    assert dispute.evidence_details.due_by == int(world.clock.now) + 7 * DAY
    assert len(dispute.balance_transaction_ids) == 1
    assert await pending(shop) == before - 10_000 - FEE
    await shop.assert_books_balance()
    refreshed = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert refreshed.disputed

    staged = await _update(shop, dispute.id, product_description="A blue teapot")
    assert staged.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
    assert staged.evidence_details.submission_count == 0
    submitted = await _update(
        shop, dispute.id, "submit-1", uncategorized_text="winning_evidence", submit=True
    )
    assert submitted.status == S.DISPUTE_STATUS_UNDER_REVIEW
    assert submitted.evidence.product_description == "A blue teapot"
    assert submitted.evidence_details.submission_count == 1
    assert await pending(shop) == before - 10_000 - FEE

    await read_feed(world)
    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON
    assert len(won.balance_transaction_ids) == 2
    # The amount comes back; the fee stays (PAYCORE_DISPUTE_FEE_RETURNED_ON_WIN is off).
    assert await pending(shop) == before - FEE
    await shop.assert_books_balance()
    assert await event_types(shop, dispute.id) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    labels = await world.sql(
        shop.id,
        "SELECT label FROM fraud_assessments WHERE merchant_id = :m AND payment = :p",
        m=shop.id,
        p=intent.id,
    )
    assert labels == [("legitimate",)]
    await shop.close()


async def test_a_lost_chargeback_keeps_the_money_withdrawn(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 5_000)
    assert disputed.dispute.reason == S.DISPUTE_REASON_PRODUCT_NOT_RECEIVED
    after_withdrawal = await pending(shop)
    assert after_withdrawal == 5_000 - fee(5_000) - 5_000 - FEE

    await _update(shop, disputed.dispute.id, uncategorized_text="losing_evidence", submit=True)
    await read_feed(world)

    lost = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert lost.status == S.DISPUTE_STATUS_LOST
    assert len(lost.balance_transaction_ids) == 1
    assert await pending(shop) == after_withdrawal
    await shop.assert_books_balance()
    await shop.close()


async def test_an_accepted_fraudulent_chargeback_is_lost_and_labels_the_payment_fraud(
    world: World,
) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 2_000)
    after_withdrawal = await pending(shop)

    closed = await shop.client.disputes.CloseDispute(
        S.CloseDisputeRequest(id=disputed.dispute.id), metadata=(("idempotency-key", "c-1"),)
    )
    again = await shop.client.disputes.CloseDispute(
        S.CloseDisputeRequest(id=disputed.dispute.id), metadata=(("idempotency-key", "c-1"),)
    )
    await read_feed(world)

    assert closed.status == again.status == S.DISPUTE_STATUS_LOST
    assert await pending(shop) == after_withdrawal
    labels = await world.sql(
        shop.id,
        "SELECT label FROM fraud_assessments WHERE merchant_id = :m AND payment = :p",
        m=shop.id,
        p=disputed.intent.id,
    )
    assert labels == [("fraudulent",)]
    await shop.assert_books_balance()
    await shop.close()


async def test_the_outcome_the_test_decides_at_the_psp_reaches_paycore(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_DUPLICATE, 3_000)
    assert disputed.dispute.reason == S.DISPUTE_REASON_DUPLICATE
    psp_dispute = (
        await world.sql(
            shop.id,
            "SELECT psp_dispute FROM disputes WHERE merchant_id = :m",
            m=shop.id,
        )
    )[0][0]

    await world.psp.control(f"disputes/{psp_dispute}", {"outcome": "won"})
    await read_feed(world)

    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON
    assert await pending(shop) == 3_000 - fee(3_000) - FEE
    await shop.assert_books_balance()
    await shop.close()


async def test_an_inquiry_moves_no_money(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_INQUIRY, 4_000)

    assert disputed.dispute.status == S.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE
    assert disputed.dispute.fee == 0
    assert list(disputed.dispute.balance_transaction_ids) == []
    assert await pending(shop) == 4_000 - fee(4_000)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=disputed.intent.id)
    )
    assert not intent.disputed
    await _update(shop, disputed.dispute.id, uncategorized_text="winning_evidence", submit=True)
    await read_feed(world)

    closed = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert closed.status == S.DISPUTE_STATUS_WARNING_CLOSED
    assert await pending(shop) == 4_000 - fee(4_000)
    await shop.assert_books_balance()
    await shop.close()


async def test_a_refund_of_a_disputed_charge_is_refused(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 1_500)
    balance = await pending(shop)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.refund(disputed.intent.id, 100)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rich_error(raised.value).reason == "CHARGE_DISPUTED"
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=disputed.intent.id)
    )
    assert list(listed.data) == []
    assert await pending(shop) == balance
    await shop.assert_books_balance()
    await shop.close()


async def _refused(
    shop: PayoutShop, dispute_id: str, reason: str, *, submit: bool = False, **fields: str
) -> str | None:
    """Refused for `reason`, changing nothing; the param the refusal names."""
    before = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute_id))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _update(shop, dispute_id, submit=submit, **fields)
    error = rich_error(raised.value)
    assert error.reason == reason, raised.value
    after = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute_id))
    assert after == before
    return error.param


async def test_bad_evidence_is_a_named_error_that_changes_nothing(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED, 2_500)
    dispute_id = disputed.dispute.id
    await _update(shop, dispute_id, product_description="staged")
    balance = await pending(shop)

    # Too long: one field, or the fields together, over 150,000 characters.
    await _refused(shop, dispute_id, "DISPUTE_EVIDENCE_TOO_LONG", uncategorized_text="x" * 150_001)
    await _refused(
        shop,
        dispute_id,
        "DISPUTE_EVIDENCE_TOO_LONG",
        uncategorized_text="x" * 80_000,
        access_activity_log="y" * 80_000,
        submit=True,
    )
    # Submitted once; a second submission (with another key) is refused.
    await _update(shop, dispute_id, uncategorized_text="our answer", submit=True)
    # Each refusal names what the request sent: its evidence, or its submit.
    submitted = "DISPUTE_EVIDENCE_SUBMITTED"
    assert await _refused(shop, dispute_id, submitted, uncategorized_text="more") == "evidence"
    assert await _refused(shop, dispute_id, submitted, submit=True) == "submit"
    assert await pending(shop) == balance
    await shop.assert_books_balance()

    # After the deadline.
    late = await disputed_payment(world, shop, cards.CARD_DISPUTE_DUPLICATE, 2_000)
    world.clock.advance(7 * DAY + 1)
    past_due = "DISPUTE_PAST_DUE"
    assert await _refused(shop, late.dispute.id, past_due, uncategorized_text="late") == "evidence"
    assert await _refused(shop, late.dispute.id, past_due, submit=True) == "submit"
    await shop.assert_books_balance()
    # The bank then closes it lost: nothing more moves.
    balance = await pending(shop)
    await read_feed(world)
    lost = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=late.dispute.id))
    assert lost.status == S.DISPUTE_STATUS_LOST
    assert await pending(shop) == balance
    await shop.assert_books_balance()
    await shop.close()


async def test_a_submission_sends_the_evidence_to_the_psp_once(world: World) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 1_000)

    first = await _update(shop, disputed.dispute.id, "k-1", uncategorized_text="a", submit=True)
    replay = await _update(shop, disputed.dispute.id, "k-1", uncategorized_text="a", submit=True)

    assert first == replay
    sent = world.psp.count("operations WHERE operation = 'dispute_evidence'")
    assert sent == 1
    await shop.assert_books_balance()
    await shop.close()


async def test_a_submission_left_behind_by_its_request_is_sent_by_the_worker_once(
    world: World,
) -> None:
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 1_000)
    disputes = world.platform.disputes
    update = EvidenceUpdate(
        {"uncategorized_text": "winning_evidence"}, MetadataChange(), submit=True
    )
    # The request's first phase commits; the process dies before it calls the PSP.
    phases = disputes.update(shop.id, disputed.dispute.id, update)
    async with world.platform.shards.transaction(shop.id) as connection:
        await phases.record(connection)

    await read_feed(world)  # within the request's lease: left alone
    waiting = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    world.clock.advance(61)
    await read_feed(world)  # sent, answered (under review); the next read applies the win
    await read_feed(world)

    assert waiting.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=disputed.dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON
    assert won.evidence_details.submission_count == 1
    assert world.psp.count("operations WHERE operation = 'dispute_evidence'") == 1
    assert await pending(shop) == 1_000 - fee(1_000) - FEE
    await shop.assert_books_balance()
    await shop.close()


async def test_disputes_are_listed_by_their_charge(world: World) -> None:
    """ListDisputes' `charge` (Stripe's Dispute.list(charge=...)): the PSP's charge id a
    dispute shows."""
    shop = await world.shop()
    first = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 2_000)
    second = await disputed_payment(world, shop, cards.CARD_DISPUTE_DUPLICATE, 3_000)
    assert first.dispute.charge != second.dispute.charge

    found = await shop.client.disputes.ListDisputes(
        S.ListDisputesRequest(charge=first.dispute.charge)
    )
    unknown = await shop.client.disputes.ListDisputes(S.ListDisputesRequest(charge="ch_unknown"))

    assert [dispute.id for dispute in found.data] == [first.dispute.id]
    assert list(unknown.data) == []
    await shop.close()


async def test_an_intent_names_its_charge_as_its_dispute_does(world: World) -> None:
    """PaymentIntent.latest_charge (Stripe's): the PSP's charge id, which a dispute shows as
    `charge` and ListDisputes filters by; no other object named it, so Stripe's
    Dispute.list(charge=intent.latest_charge) had nothing to pass."""
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_DISPUTE_FRAUDULENT, 2_000)
    intent = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=disputed.intent.id)
    )

    assert disputed.intent.latest_charge == intent.latest_charge == disputed.dispute.charge
    found = await shop.client.disputes.ListDisputes(
        S.ListDisputesRequest(charge=intent.latest_charge)
    )
    assert [dispute.id for dispute in found.data] == [disputed.dispute.id]
    unpaid = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(amount=500, currency="usd")
    )
    assert unpaid.latest_charge == ""
    await shop.close()


async def test_a_short_evidence_window_makes_the_deadline_reachable_from_outside(
    world: World,
) -> None:
    """The simulator's `dispute_response_seconds` (POST /_control/faults): how long after it
    opens a dispute's evidence is due, 7 days unless set, so a test from outside (which cannot
    move paycore's or the simulator's clock) can reach issue 22's "after the deadline". Once
    the window has passed the bank closes the dispute lost; evidence sent then is still refused
    as past due (the reason), not merely as a closed dispute."""
    shop = await world.shop()
    faults = await world.psp.control("faults", {"dispute_response_seconds": 30})
    assert faults["dispute_response_seconds"] == 30
    try:
        late = await disputed_payment(world, shop, cards.CARD_DISPUTE_DUPLICATE, 2_000)
        assert late.dispute.evidence_details.due_by == late.dispute.created + 30
        world.clock.advance(31)
        await read_feed(world)
        lost = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=late.dispute.id))
        assert lost.status == S.DISPUTE_STATUS_LOST
        await _refused(shop, late.dispute.id, "DISPUTE_PAST_DUE", uncategorized_text="late")
        await _refused(shop, late.dispute.id, "DISPUTE_PAST_DUE", submit=True)
        refused = await world.psp.post_faults({"dispute_response_seconds": 0})
        assert refused[0] == 400 and refused[1]["error"]["param"] == "dispute_response_seconds"
    finally:
        await world.psp.control("faults", {"dispute_response_seconds": 7 * DAY})
    await shop.assert_books_balance()
    await shop.close()


async def test_the_early_fraud_warning_card_is_still_disputed_as_a_duplicate(
    world: World,
) -> None:
    """4000000000005423 was the documented duplicate-dispute card before the simulator raised
    Stripe's early fraud warnings with it; it still is (a warned charge disputed later)."""
    shop = await world.shop()
    disputed = await disputed_payment(world, shop, cards.CARD_EARLY_FRAUD_WARNING, 2_000)
    assert disputed.dispute.reason == S.DISPUTE_REASON_DUPLICATE
    assert disputed.dispute.amount == 2_000
    await shop.assert_books_balance()
    await shop.close()
