"""Disputes of checkout payment orders (pord_) end to end on real PostgreSQL (two shards) and
Redis, against the PSP simulator: an order is one PSP charge paying one seller, so its
chargeback takes the amount and the fee from that seller's balance (the charge's owner), as
its capture, fee and refunds did; a checkout of two sellers is two charges, each disputed on its
own. The dispute, its money, its events and what the order then refuses are the intent's."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import dispute_pb2, payment_pb2, wallet_pb2

from tests.currency.support import account_balances, carry, import_ecb, settle_in
from tests.dispute.support import (
    DISPUTE_DELAY_SECONDS,
    event_types,
    order_dispute,
    pending,
    read_feed,
    reread_feed_from_the_start,
)
from tests.helpers import rich_error
from tests.payment.shop import fee
from tests.payout.support import DAY, PayoutShop, World

FEE = 1500
S = dispute_pb2
W = wallet_pb2


async def _rows(shop: PayoutShop, account: str, dispute_id: str) -> list[W.BalanceTransaction]:
    """The balance transactions of `account`'s balance that the dispute made, oldest first."""
    found = [t for t in await shop.transactions(account) if t.source == dispute_id]
    return sorted(found, key=lambda t: (t.created, t.amount))


async def _order(shop: PayoutShop, order_id: str) -> payment_pb2.PaymentOrder:
    return await shop.client.payments.GetPaymentOrder(
        payment_pb2.GetPaymentOrderRequest(id=order_id)
    )


async def _books(shop: PayoutShop, *sellers: str) -> None:
    """The ledger balances, and each seller's balance is the net of its balance transactions."""
    await shop.assert_books_balance()
    for seller in sellers:
        await shop.assert_identity(seller)


async def test_a_checkout_of_two_sellers_disputed_each_seller_bears_its_own_orders_chargeback(
    world: World,
) -> None:
    shop = await world.shop()
    kiln, loom = await shop.seller("Kiln"), await shop.seller("Loom")
    payment = await shop.checkout(
        [(kiln, 6_000), (loom, 4_000)], card=cards.CARD_DISPUTE_PRODUCT_NOT_RECEIVED
    )
    by_seller = {order.seller_account: order for order in payment.payment_orders}
    kiln_order, loom_order = by_seller[kiln], by_seller[loom]
    kiln_before, loom_before = await pending(shop, kiln), await pending(shop, loom)
    assert (kiln_before, loom_before) == (6_000 - fee(6_000), 4_000 - fee(4_000))
    assert await pending(shop) == 0
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

    listed = await shop.client.disputes.ListDisputes(S.ListDisputesRequest())
    assert len(listed.data) == 2
    kiln_dispute = await order_dispute(shop, kiln_order.id)
    loom_dispute = await order_dispute(shop, loom_order.id)
    for dispute, order in ((kiln_dispute, kiln_order), (loom_dispute, loom_order)):
        assert dispute.id.startswith("dp_")
        assert (dispute.payment_order, dispute.payment_intent) == (order.id, "")
        assert dispute.charge == order.psp_reference
        assert dispute.status == S.DISPUTE_STATUS_NEEDS_RESPONSE
        assert dispute.reason == S.DISPUTE_REASON_PRODUCT_NOT_RECEIVED
        assert (dispute.amount, dispute.currency, dispute.fee) == (order.amount, "usd", FEE)
        assert len(dispute.balance_transaction_ids) == 1
        assert (await _order(shop, order.id)).disputed
    # Each seller gives back its own order's amount and pays the fee; the merchant's own
    # balance is not touched.
    assert await pending(shop, kiln) == kiln_before - 6_000 - FEE
    assert await pending(shop, loom) == loom_before - 4_000 - FEE
    assert await pending(shop) == 0
    (withdrawal,) = await _rows(shop, kiln, kiln_dispute.id)
    assert list(kiln_dispute.balance_transaction_ids) == [withdrawal.id]
    # The objects too: the seller's row (account kiln), read with the dispute.
    assert list(kiln_dispute.balance_transactions) == [withdrawal]
    assert (withdrawal.type, withdrawal.status) == (
        W.BALANCE_TRANSACTION_TYPE_ADJUSTMENT,
        W.BALANCE_TRANSACTION_STATUS_PENDING,
    )
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-6_000, FEE, -7_500)
    assert await _rows(shop, "", kiln_dispute.id) == []
    shown = await shop.client.payments.GetPayment(payment_pb2.GetPaymentRequest(id=payment.id))
    assert [order.disputed for order in shown.payment_orders] == [True, True]
    await _books(shop, kiln, loom)

    # Kiln answers and wins (the submission replayed with its key is sent once); Loom accepts.
    submit = S.UpdateDisputeRequest(
        id=kiln_dispute.id,
        evidence=S.DisputeEvidence(uncategorized_text="winning_evidence"),
        submit=True,
    )
    key = (("idempotency-key", "kiln-submit"),)
    submitted = await shop.client.disputes.UpdateDispute(submit, metadata=key)
    assert await shop.client.disputes.UpdateDispute(submit, metadata=key) == submitted
    assert submitted.status == S.DISPUTE_STATUS_UNDER_REVIEW
    assert world.psp.count("operations WHERE operation = 'dispute_evidence'") == 1
    close = S.CloseDisputeRequest(id=loom_dispute.id)
    key = (("idempotency-key", "loom-close"),)
    closed = await shop.client.disputes.CloseDispute(close, metadata=key)
    assert await shop.client.disputes.CloseDispute(close, metadata=key) == closed
    assert closed.status == S.DISPUTE_STATUS_LOST
    await read_feed(world)

    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=kiln_dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON
    withdrawn, reinstated = await _rows(shop, kiln, kiln_dispute.id)
    assert list(won.balance_transaction_ids) == [withdrawn.id, reinstated.id]
    assert (reinstated.type, reinstated.amount, reinstated.fee) == (
        W.BALANCE_TRANSACTION_TYPE_ADJUSTMENT,
        6_000,
        0,
    )
    lost = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=loom_dispute.id))
    assert lost.status == S.DISPUTE_STATUS_LOST
    assert len(lost.balance_transaction_ids) == 1
    # The amount comes back to Kiln; the fee stays (PAYCORE_DISPUTE_FEE_RETURNED_ON_WIN off).
    assert await pending(shop, kiln) == kiln_before - FEE
    assert await pending(shop, loom) == loom_before - 4_000 - FEE
    assert await pending(shop) == 0
    await _books(shop, kiln, loom)
    assert await event_types(shop, kiln_dispute.id) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    assert await event_types(shop, loom_dispute.id) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]

    # Every event of the feed read again changes nothing.
    transactions = len(await shop.transactions(kiln)) + len(await shop.transactions(loom))
    await reread_feed_from_the_start(world)
    again = await shop.client.disputes.ListDisputes(S.ListDisputesRequest())
    assert {d.id: d for d in again.data} == {won.id: won, lost.id: lost}
    assert len(await shop.transactions(kiln)) + len(await shop.transactions(loom)) == transactions
    assert await pending(shop, kiln) == kiln_before - FEE
    assert await pending(shop, loom) == loom_before - 4_000 - FEE
    await _books(shop, kiln, loom)
    await shop.close()


async def test_a_lost_fraudulent_order_dispute_labels_its_checkout_fraud(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller()
    payment = await shop.checkout([(seller, 2_000)], card=cards.CARD_DISPUTE_FRAUDULENT)
    (order,) = payment.payment_orders
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    dispute = await order_dispute(shop, order.id)
    assert dispute.reason == S.DISPUTE_REASON_FRAUDULENT

    closed = await shop.client.disputes.CloseDispute(S.CloseDisputeRequest(id=dispute.id))
    await read_feed(world)

    assert closed.status == S.DISPUTE_STATUS_LOST
    assert await pending(shop, seller) == 2_000 - fee(2_000) - 2_000 - FEE
    # Fraud scored the checkout as a whole: its payment's assessment is the one labelled.
    labels = await world.sql(
        shop.id,
        "SELECT label FROM fraud_assessments WHERE merchant_id = :m AND payment = :p",
        m=shop.id,
        p=payment.id,
    )
    assert labels == [("fraudulent",)]
    await _books(shop, seller)
    await shop.close()


async def test_a_refund_of_a_disputed_order_is_refused(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller()
    payment = await shop.checkout([(seller, 1_500)], card=cards.CARD_DISPUTE_DUPLICATE)
    (order,) = payment.payment_orders
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)
    await order_dispute(shop, order.id)
    balance = await pending(shop, seller)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await shop.client.payments.CreateRefund(
            payment_pb2.CreateRefundRequest(payment_order=order.id, amount=100)
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = rich_error(raised.value)
    assert (error.reason, error.metadata["param"]) == ("CHARGE_DISPUTED", "payment_order")
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_order=order.id)
    )
    assert list(listed.data) == []
    assert (await _order(shop, order.id)).amount_refunded == 0
    assert await pending(shop, seller) == balance
    await _books(shop, seller)
    await shop.close()


async def test_an_inquiry_of_an_order_moves_no_money(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller()
    payment = await shop.checkout([(seller, 4_000)], card=cards.CARD_DISPUTE_INQUIRY)
    (order,) = payment.payment_orders
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

    dispute = await order_dispute(shop, order.id)
    assert dispute.status == S.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE
    assert (dispute.fee, list(dispute.balance_transaction_ids)) == (0, [])
    assert not (await _order(shop, order.id)).disputed
    assert await pending(shop, seller) == 4_000 - fee(4_000)
    await _books(shop, seller)
    await shop.close()


# -- a converted order: the numbers of test_converted_disputes, on a seller's balance ------------

DAY_1 = "Date, USD, JPY,\n07 December 2026, 1.2000, 150.00,\n"
DAY_2 = "Date, USD, JPY,\n08 December 2026, 1.2000, 160.00,\n"


async def test_a_won_dispute_of_a_converted_order_moves_the_sellers_usd_at_the_charges_rate(
    fx_world: World, tmp_path: Path
) -> None:
    """JPY 3,333 to a USD-settling seller at day 1's 0.008: 2,666 cents less 102 (fee) and 27
    (conversion) = 2,537; the dispute opens on day 2 (0.0075) and takes 2,667 cents (rounded up
    at the charge's 0.008) and 1,200 (1,500 yen at 0.008) from the seller; won, 2,667 come
    back (see test_converted_disputes for the rounding)."""
    world = fx_world
    shop = await world.shop()
    seller = await shop.seller()
    await settle_in(shop, "usd", account=seller)
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_1) > 0
    payment = await shop.checkout(
        [(seller, 3_333)], card=cards.CARD_DISPUTE_FRAUDULENT, currency="jpy"
    )
    (order,) = payment.payment_orders
    (captured,) = await shop.transactions(seller)
    assert (captured.amount, captured.fee, captured.net, captured.currency) == (
        2_666,
        129,
        2_537,
        "usd",
    )
    world.clock.advance(DAY)
    assert await import_ecb(world, tmp_path / "eurofxref.csv", DAY_2) > 0
    world.clock.advance(DISPUTE_DELAY_SECONDS + 1)
    await read_feed(world)

    dispute = await order_dispute(shop, order.id)
    assert (dispute.amount, dispute.currency, dispute.fee) == (3_333, "jpy", 1_500)
    (withdrawal,) = await _rows(shop, seller, dispute.id)
    assert list(dispute.balance_transaction_ids) == [withdrawal.id]
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net, withdrawal.currency) == (
        -2_667,
        1_200,
        -3_867,
        "usd",
    )
    assert (
        withdrawal.exchange_rate,
        withdrawal.presentment_amount,
        withdrawal.presentment_currency,
    ) == ("0.008", 3_333, "jpy")
    assert await pending(shop, seller) == 2_537 - 2_667 - 1_200 == -1_330
    assert await pending(shop) == 0
    jpy = await account_balances(shop, "jpy")
    assert (jpy["psp_receivable"], jpy["fx_clearing:jpy_usd"]) == (0, 0)
    usd = await account_balances(shop, "usd")
    assert usd["fx_clearing:jpy_usd"] == 0
    assert (usd["fx_rounding"], await carry(world, shop.id, "usd")) == (1, Fraction(0))
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)

    await shop.client.disputes.UpdateDispute(
        S.UpdateDisputeRequest(
            id=dispute.id,
            evidence=S.DisputeEvidence(uncategorized_text="winning_evidence"),
            submit=True,
        )
    )
    await read_feed(world)

    won = await shop.client.disputes.GetDispute(S.GetDisputeRequest(id=dispute.id))
    assert won.status == S.DISPUTE_STATUS_WON
    _, reinstated = await _rows(shop, seller, dispute.id)
    assert (reinstated.amount, reinstated.fee, reinstated.currency) == (2_667, 0, "usd")
    assert (reinstated.exchange_rate, reinstated.presentment_amount) == ("0.008", 3_333)
    assert await pending(shop, seller) == 2_537 - 1_200 == 1_337
    jpy = await account_balances(shop, "jpy")
    assert (-jpy["psp_receivable"], jpy["fx_clearing:jpy_usd"]) == (3_333, 3_333)
    usd = await account_balances(shop, "usd")
    assert usd["fx_clearing:jpy_usd"] == -2_666
    assert (usd["fx_rounding"], await carry(world, shop.id, "usd")) == (0, Fraction(2, 5))
    for currency in ("usd", "jpy"):
        await shop.assert_books_balance(currency)
    await shop.close()
