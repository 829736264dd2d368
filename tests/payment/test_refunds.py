"""Refunds: partial, repeated, never more than was captured, even fifty at once; their
metadata updated (UpdateRefund)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from paycore.tools.psp import cards
from paycore.v1 import payment_pb2

from tests.helpers import metadata_events, rich_error
from tests.payment.shop import PayIn, Shop, fee, good_card, open_shop


async def _refund(shop: Shop, intent: str, amount: int | None = None) -> payment_pb2.Refund:
    request = payment_pb2.CreateRefundRequest(payment_intent=intent)
    if amount is not None:
        request.amount = amount
    return await shop.client.payments.CreateRefund(request)


async def test_partial_then_the_rest_then_nothing_more(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 1000)

    first = await _refund(shop, intent.id, 300)
    rest = await _refund(shop, intent.id)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id, 1)

    assert first.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert (first.amount, rest.amount) == (300, 700)
    assert rest.status == payment_pb2.REFUND_STATUS_SUCCEEDED
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(raised.value).reason == "REFUND_EXCEEDS_CAPTURED"
    refreshed = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert refreshed.amount_refunded == 1000
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert sorted(refund.amount for refund in listed.data) == [300, 700]
    # The fee stays with the platform: the merchant's balance is minus the fee.
    assert (await shop.balance())[1] == {"usd": -fee(1000)}
    await shop.assert_books_balance()


async def test_an_over_refund_is_refused_and_changes_nothing(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 500)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id, 501)

    assert rich_error(raised.value).metadata["param"] == "amount"
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert list(listed.data) == []
    assert (await shop.balance())[1] == {"usd": 500 - fee(500)}
    await shop.assert_books_balance()


async def test_an_unpaid_intent_cannot_be_refunded(shop: Shop) -> None:
    declined = await shop.pay(cards.CARD_DECLINED, 500)
    authorized = await shop.pay(good_card(), 500, manual=True)

    for intent in (declined, authorized):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _refund(shop, intent.id, 100)
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert rich_error(raised.value).reason == "CHARGE_NOT_REFUNDABLE"
    await shop.assert_books_balance()


async def test_fifty_concurrent_refunds_never_exceed_the_captured_amount(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 3000)

    outcomes = await asyncio.gather(
        *(_refund(shop, intent.id, 100) for _ in range(50)), return_exceptions=True
    )

    refunded = [outcome for outcome in outcomes if isinstance(outcome, payment_pb2.Refund)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(refunded) == 30
    assert len(refused) == 20
    assert {rich_error(error).reason for error in refused} == {"REFUND_EXCEEDS_CAPTURED"}
    assert {refund.status for refund in refunded} == {payment_pb2.REFUND_STATUS_SUCCEEDED}
    refreshed = await shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=intent.id)
    )
    assert refreshed.amount_refunded == 3000
    assert (await shop.balance())[1] == {"usd": -fee(3000)}
    await shop.assert_books_balance()


@pytest.mark.parametrize("field", ["payment_intent", "payment_order"])
async def test_a_malformed_charge_is_refused_naming_it_when_refunding_or_listing(
    shop: Shop, field: str
) -> None:
    create = payment_pb2.CreateRefundRequest()
    listing = payment_pb2.ListRefundsRequest()
    setattr(create, field, "pi_x")
    setattr(listing, field, "pi_x")
    payments = shop.client.payments
    for call in (payments.CreateRefund(create), payments.ListRefunds(listing)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        refused = rich_error(raised.value)
        assert (raised.value.code(), refused.reason, refused.param) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "ID_MALFORMED",
            field,
        )


async def test_refunding_the_rest_of_a_fully_refunded_intent_says_so(shop: Shop) -> None:
    """No amount means "the rest"; with nothing left the answer names the intent, not an
    amount the caller never sent (Stripe's charge_already_refunded)."""
    intent = await shop.pay(good_card(), 800)
    await _refund(shop, intent.id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _refund(shop, intent.id)

    error = rich_error(raised.value)
    assert (raised.value.code(), error.reason, error.param) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHARGE_ALREADY_REFUNDED",
        "payment_intent",
    )
    assert intent.id in (raised.value.details() or "")
    listed = await shop.client.payments.ListRefunds(
        payment_pb2.ListRefundsRequest(payment_intent=intent.id)
    )
    assert [refund.amount for refund in listed.data] == [800]
    await shop.assert_books_balance()


async def _refund_events(
    shop: Shop, refund_id: str, *, with_charge_refund: bool = False
) -> list[tuple[str, dict[str, str]]]:
    """The refund's events, oldest first; without the charge.refund.updated twin of each
    refund.updated unless asked (tests/payment/test_charge_events.py)."""
    found = await metadata_events(shop.client, refund_id, payment_pb2.Refund)
    if with_charge_refund:
        return found
    return [(kind, metadata) for kind, metadata in found if kind != "charge.refund.updated"]


async def test_an_update_changes_the_metadata_alone_and_records_refund_updated(
    shop: Shop,
) -> None:
    """Stripe's Refund.modify: keys merged, an empty value removes its key, clear_metadata
    removes every key first; nothing else of the refund (nor of the money) changes, and each
    change (never an update that changes nothing) is a refund.updated carrying it."""
    intent = await shop.pay(good_card(), 1000)
    refund = await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(
            payment_intent=intent.id, amount=400, metadata={"a": "1", "b": "2"}
        )
    )
    balance = await shop.balance()
    payments = shop.client.payments

    merged = await payments.UpdateRefund(
        payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"a": "", "c": "3"})
    )
    unchanged = await payments.UpdateRefund(
        payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"b": "2"})
    )
    cleared = await payments.UpdateRefund(
        payment_pb2.UpdateRefundRequest(id=refund.id, clear_metadata=True, metadata={"d": "4"})
    )
    read = await payments.GetRefund(payment_pb2.GetRefundRequest(id=refund.id))

    assert dict(merged.metadata) == dict(unchanged.metadata) == {"b": "2", "c": "3"}
    assert dict(cleared.metadata) == {"d": "4"}
    assert read == cleared
    for answer in (merged, cleared):
        without_metadata = payment_pb2.Refund()
        without_metadata.CopyFrom(answer)
        without_metadata.ClearField("metadata")
        original = payment_pb2.Refund()
        original.CopyFrom(refund)
        original.ClearField("metadata")
        assert without_metadata == original
    assert await _refund_events(shop, refund.id) == [
        ("refund.created", {"a": "1", "b": "2"}),
        ("refund.updated", {"a": "1", "b": "2"}),  # its success
        ("refund.updated", {"b": "2", "c": "3"}),
        ("refund.updated", {"d": "4"}),
    ]
    both = await _refund_events(shop, refund.id, with_charge_refund=True)
    twins = [found for found in both if found[0] == "charge.refund.updated"]
    assert [metadata for _, metadata in twins] == [
        {"a": "1", "b": "2"},
        {"b": "2", "c": "3"},
        {"d": "4"},
    ]
    assert await shop.balance() == balance
    await shop.assert_books_balance()


async def test_an_update_with_a_key_is_answered_once(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 600)
    refund = await _refund(shop, intent.id, 100)
    key = (("idempotency-key", "refund-update-1"),)
    request = payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"n": "1"})
    payments = shop.client.payments

    first = await payments.UpdateRefund(request, metadata=key)
    await payments.UpdateRefund(payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"n": "2"}))
    again = await payments.UpdateRefund(request, metadata=key)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await payments.UpdateRefund(
            payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"n": "3"}), metadata=key
        )

    assert again == first
    assert dict(first.metadata) == {"n": "1"}
    assert rich_error(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"
    read = await payments.GetRefund(payment_pb2.GetRefundRequest(id=refund.id))
    assert dict(read.metadata) == {"n": "2"}  # the replay changed nothing
    assert [kind for kind, _ in await _refund_events(shop, refund.id)].count("refund.updated") == 3


async def test_another_merchants_refund_is_not_found_and_bad_input_names_its_field(
    payin: PayIn, shop: Shop
) -> None:
    intent = await shop.pay(good_card(), 700)
    refund = await shop.client.payments.CreateRefund(
        payment_pb2.CreateRefundRequest(payment_intent=intent.id, amount=100, metadata={"k": "v"})
    )
    other = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
    refused: list[tuple[grpc.StatusCode, str, str | None]] = []
    try:
        for client, request in (
            (other.client, payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"k": "x"})),
            (shop.client, payment_pb2.UpdateRefundRequest(id=intent.id, metadata={"k": "x"})),
            (shop.client, payment_pb2.UpdateRefundRequest(metadata={"k": "x"})),
            (shop.client, payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"": "x"})),
            (
                shop.client,
                payment_pb2.UpdateRefundRequest(id=refund.id, metadata={"k": "x" * 501}),
            ),
            (
                shop.client,
                payment_pb2.UpdateRefundRequest(
                    id=refund.id, metadata={f"key{n}": "x" for n in range(50)}
                ),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await client.payments.UpdateRefund(request)
            error = rich_error(raised.value)
            refused.append((raised.value.code(), error.reason, error.param))
    finally:
        await other.close()

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert refused == [
        (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING", "id"),
        (invalid, "ID_MALFORMED", "id"),
        (invalid, "PARAMETER_MISSING", "id"),
        (invalid, "PARAMETER_INVALID", "metadata[]"),
        (invalid, "PARAMETER_TOO_LONG", "metadata[k]"),
        (invalid, "PARAMETER_INVALID", "metadata"),  # 51 keys once merged
    ]
    read = await shop.client.payments.GetRefund(payment_pb2.GetRefundRequest(id=refund.id))
    assert dict(read.metadata) == {"k": "v"}
    assert [kind for kind, _ in await _refund_events(shop, refund.id)] == [
        "refund.created",
        "refund.updated",
    ]


async def test_a_refund_names_the_charge_and_its_balance_transaction(shop: Shop) -> None:
    intent = await shop.pay(good_card(), 800)

    refund = await _refund(shop, intent.id, 300)

    assert refund.charge == intent.latest_charge and refund.charge.startswith("ch_")
    assert refund.balance_transaction.startswith("txn_")
    got = await shop.client.payments.GetRefund(payment_pb2.GetRefundRequest(id=refund.id))
    assert (got.charge, got.balance_transaction) == (refund.charge, refund.balance_transaction)


async def test_concurrent_refunds_of_many_intents_never_deadlock(shop: Shop) -> None:
    """Refunds of different intents completing in one group commit: each refund's intent is
    locked before any ledger account, so none of them waits on an intent while holding the
    merchant's balances (a refund answered DATABASE_CONFLICT, its refund made all the same)."""
    intents = [await shop.pay(good_card(), 1500) for _ in range(20)]

    outcomes = []
    for _ in range(5):
        outcomes += await asyncio.gather(
            *(_refund(shop, intent.id, 100) for intent in intents for _ in range(3)),
            return_exceptions=True,
        )

    failed = [rich_error(o).reason for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert failed == []
    assert all(isinstance(outcome, payment_pb2.Refund) for outcome in outcomes)
    for intent in intents:
        refreshed = await shop.client.payments.GetPaymentIntent(
            payment_pb2.GetPaymentIntentRequest(id=intent.id)
        )
        assert refreshed.amount_refunded == 1500
    await shop.assert_books_balance()


async def test_concurrent_refunds_of_many_payment_orders_never_deadlock(shop: Shop) -> None:
    """As above, for payment orders' refunds: a group commit locks their orders first."""
    seller = await shop.seller()
    card = await shop.card(good_card())
    orders = []
    for number in range(10):
        payment = await shop.client.payments.CreatePayment(
            payment_pb2.CreatePaymentRequest(
                checkout_id=f"cart-{number}",
                payment_method=card,
                payment_orders=[
                    payment_pb2.CreatePaymentRequest.PaymentOrder(
                        payment_order_id=f"order-{number}-{part}",
                        seller_account=seller,
                        amount=2400,
                        currency="usd",
                    )
                    for part in range(2)
                ],
            )
        )
        orders += [order.id for order in payment.payment_orders]

    outcomes = []
    for _ in range(8):
        outcomes += await asyncio.gather(
            *(
                shop.client.payments.CreateRefund(
                    payment_pb2.CreateRefundRequest(payment_order=order, amount=100)
                )
                for order in orders
                for _ in range(3)
            ),
            return_exceptions=True,
        )

    failed = [rich_error(o).reason for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert failed == []
    for order in orders:
        refreshed = await shop.client.payments.GetPaymentOrder(
            payment_pb2.GetPaymentOrderRequest(id=order)
        )
        assert refreshed.amount_refunded == 2400
    await shop.assert_books_balance()
