"""Refunds of destination charges that take the seller's share back (`reverse_transfer`) and
give the seller back the application fee in proportion (`refund_application_fee`), as
Stripe's: the transfer is the whole charge, so a reversal is the refund's amount; the fee's
share is the cumulative floor, so a series of refunds gives back exactly the fee."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from paycore.ids import Prefix, new_merchant_id
from paycore.payment.refunds import fee_share
from paycore.v1 import payment_pb2 as P  # noqa: N812
from paycore.v1 import wallet_pb2 as W  # noqa: N812

from tests.helpers import rich_error
from tests.payment.shop import Shop, fee, good_card

T, F = W.BALANCE_TRANSACTION_TYPE_TRANSFER, W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND
R = W.BALANCE_TRANSACTION_TYPE_REFUND


async def _destination_charge(shop: Shop, amount: int, application_fee: int) -> tuple[str, str]:
    seller = await shop.seller()
    intent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=amount,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=application_fee,
        )
    )
    intent = await shop.settled(intent)
    assert intent.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    return intent.id, seller


async def _refund(
    shop: Shop,
    intent: str,
    amount: int | None = None,
    *,
    reverse: bool = False,
    fee_back: bool = False,
    key: str | None = None,
) -> P.Refund:
    request = P.CreateRefundRequest(
        payment_intent=intent, reverse_transfer=reverse, refund_application_fee=fee_back
    )
    if amount is not None:
        request.amount = amount
    metadata = (("idempotency-key", key),) if key else None
    return await shop.client.payments.CreateRefund(request, metadata=metadata)


async def _total(shop: Shop, account: str = "") -> int:
    """The balance, available and pending together (a refund takes what is available first)."""
    available, pending = await shop.balance(account)
    return available.get("usd", 0) + pending.get("usd", 0)


async def _rows(shop: Shop, refund: str, account: str = "") -> list[tuple[int, int]]:
    found = await shop.client.wallet.ListBalanceTransactions(
        W.ListBalanceTransactionsRequest(account=account, source=refund)
    )
    return sorted((row.type, row.amount) for row in found.data)


@pytest.mark.parametrize(
    ("reverse", "fee_back", "seller_after", "merchant_after"),
    [
        # As Stripe's: the whole transfer (10000) comes back; the seller pays the fee it owed.
        (True, False, -1000, 1000 - fee(10_000)),
        (False, True, 10_000, -10_000 - fee(10_000)),
        # Both: everything undone but the processing fee, which the platform bears.
        (True, True, 0, -fee(10_000)),
    ],
)
async def test_a_full_refund_moves_the_transfer_and_the_fee_as_asked(
    shop: Shop, reverse: bool, fee_back: bool, seller_after: int, merchant_after: int
) -> None:
    intent, seller = await _destination_charge(shop, 10_000, 1000)
    assert await _total(shop, seller) == 9000

    refund = await _refund(shop, intent, reverse=reverse, fee_back=fee_back)

    assert refund.status == P.REFUND_STATUS_SUCCEEDED
    assert refund.HasField("transfer_reversal") is reverse
    assert refund.HasField("application_fee_refund") is fee_back
    reversed_ = refund.transfer_reversal.amount
    given = refund.application_fee_refund.amount
    assert (reversed_, given) == (10_000 if reverse else 0, 1000 if fee_back else 0)
    if reverse:
        assert refund.transfer_reversal.currency == "usd"
    read = await shop.client.payments.GetRefund(P.GetRefundRequest(id=refund.id))
    assert read == refund
    assert await _total(shop, seller) == seller_after
    assert await _total(shop) == merchant_after
    # The balance transactions of the refund, on each side.
    merchant_rows = [(R, -10_000)] + ([(T, 10_000)] if reverse else [])
    merchant_rows += [(F, -1000)] if fee_back else []
    assert await _rows(shop, refund.id) == sorted(merchant_rows)
    seller_rows = ([(T, -10_000)] if reverse else []) + ([(F, 1000)] if fee_back else [])
    assert await _rows(shop, refund.id, seller) == sorted(seller_rows)
    await shop.assert_books_balance()


async def test_a_series_of_partial_refunds_gives_back_exactly_the_fee(shop: Shop) -> None:
    """Fee 333 of 1000: each refund's share is floor(refunded so far x 333 / 1000) less what
    was given back, so no cent is lost or made and the last refund takes the rest."""
    intent, seller = await _destination_charge(shop, 1000, 333)
    refunded, given_total, reversed_total = 0, 0, 0

    for amount, expected_fee in ((1, 0), (333, 111), (7, 2), (250, 83), (None, 137)):
        refund = await _refund(shop, intent, amount, reverse=True, fee_back=True)
        refunded += refund.amount
        given_total += refund.application_fee_refund.amount
        reversed_total += refund.transfer_reversal.amount
        assert refund.application_fee_refund.amount == expected_fee
        assert refund.transfer_reversal.amount == refund.amount
        assert given_total == refunded * 333 // 1000
        assert await _total(shop, seller) == 667 - refunded + given_total
        await shop.assert_books_balance()

    assert (refunded, reversed_total, given_total) == (1000, 1000, 333)
    assert await _total(shop, seller) == 0
    assert await _total(shop) == -fee(1000)


async def test_only_the_refunds_asking_for_the_fee_share_it(shop: Shop) -> None:
    """A refund without refund_application_fee gives none back and takes no share of the
    rounding: the next one asking for it gets its own floored share."""
    intent, seller = await _destination_charge(shop, 1000, 333)

    plain = await _refund(shop, intent, 500, reverse=True)
    first = await _refund(shop, intent, 3, fee_back=True)
    rest = await _refund(shop, intent, None, fee_back=True)

    assert not plain.HasField("application_fee_refund")
    assert (first.application_fee_refund.amount, rest.application_fee_refund.amount) == (0, 166)
    assert await _total(shop, seller) == 667 - 500 + 166
    assert await _total(shop) == 333 - fee(1000) - 1000 + 500 - 166
    await shop.assert_books_balance()


async def test_concurrent_partial_refunds_never_over_reverse(shop: Shop) -> None:
    intent, seller = await _destination_charge(shop, 1000, 333)

    outcomes = await asyncio.gather(
        *(_refund(shop, intent, 70, reverse=True, fee_back=True) for _ in range(20)),
        return_exceptions=True,
    )

    refunds = [outcome for outcome in outcomes if isinstance(outcome, P.Refund)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(refunds) == 14 and len(refused) == 6
    assert {rich_error(error).reason for error in refused} == {"REFUND_EXCEEDS_CAPTURED"}
    last = await _refund(shop, intent, None, reverse=True, fee_back=True)
    refunds.append(last)
    assert sum(refund.transfer_reversal.amount for refund in refunds) == 1000
    assert sum(refund.application_fee_refund.amount for refund in refunds) == 333
    assert await _total(shop, seller) == 0
    assert await _total(shop) == -fee(1000)
    await shop.assert_books_balance()


async def test_a_replay_answers_the_first_refund_and_moves_the_money_once(shop: Shop) -> None:
    intent, seller = await _destination_charge(shop, 2000, 500)

    first = await _refund(shop, intent, 1000, reverse=True, fee_back=True, key="rev-1")
    again = await _refund(shop, intent, 1000, reverse=True, fee_back=True, key="rev-1")

    assert again == first
    assert (first.transfer_reversal.amount, first.application_fee_refund.amount) == (1000, 250)
    assert await _total(shop, seller) == 1500 - 1000 + 250
    assert await _total(shop) == 500 - fee(2000) - 1000 + 1000 - 250
    await shop.assert_books_balance()


@pytest.mark.parametrize("flag", ["reverse_transfer", "refund_application_fee"])
async def test_a_charge_without_a_transfer_is_refused_naming_the_flag(
    shop: Shop, flag: str
) -> None:
    plain = await shop.pay(good_card(), 1000)
    for request in (
        P.CreateRefundRequest(payment_intent=plain.id),
        P.CreateRefundRequest(payment_order=new_merchant_id(Prefix.PAYMENT_ORDER, shop.id)),
    ):
        setattr(request, flag, True)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await shop.client.payments.CreateRefund(request)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rich_error(raised.value).metadata["param"] == flag

    listed = await shop.client.payments.ListRefunds(P.ListRefundsRequest(payment_intent=plain.id))
    assert list(listed.data) == []
    assert await _total(shop) == 1000 - fee(1000)
    await shop.assert_books_balance()


@pytest.mark.parametrize(("received", "fee"), [(1000, 333), (7, 5), (10_000, 1), (999, 998)])
def test_fee_shares_add_up_to_the_fee_whatever_the_series(received: int, fee: int) -> None:
    """Every split of the charge into refunds gives back exactly the fee, each share at least
    0; a refund that failed in the middle (its share no longer counted) never takes a later
    one below 0 nor the total past the fee."""
    for step in range(1, received + 1, max(1, received // 97)):
        refunded, given = 0, 0
        while refunded < received:
            amount = min(step, received - refunded)
            share = fee_share(fee, received, refunded, given, amount)
            assert 0 <= share <= fee - given
            refunded, given = refunded + amount, given + share
            assert given == refunded * fee // received
        assert given == fee
        # The first refund of `step` failed after a second one took its share.
        first = fee_share(fee, received, 0, 0, step)
        second = fee_share(fee, received, step, first, min(step, received - step))
        refunded, given = min(step, received - step), second
        while refunded < received:
            amount = min(step, received - refunded)
            share = fee_share(fee, received, refunded, given, amount)
            assert 0 <= share <= fee - given
            refunded, given = refunded + amount, given + share
        assert given == fee


async def test_refunds_of_a_partially_captured_destination_charge_undo_what_was_captured(
    shop: Shop,
) -> None:
    """5000 of 10000 captured with a fee of 3000: the fee kept is 3000 (the intent's
    application_fee_amount), the seller got 2000. Refunded in two parts with both flags, as at
    Stripe each refund reverses its own amount and gives back its share of the fee kept, of
    the amount captured: the seller ends at 0, the merchant down its processing fee."""
    seller = await shop.seller()
    authorized = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=10_000,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            capture_method=P.CAPTURE_METHOD_MANUAL,
            transfer_destination=seller,
            application_fee_amount=3000,
        )
    )
    intent = await shop.client.payments.CapturePaymentIntent(
        P.CapturePaymentIntentRequest(id=authorized.id, amount_to_capture=5000)
    )
    assert (intent.amount_received, intent.application_fee_amount) == (5000, 3000)
    assert await _total(shop, seller) == 2000
    assert await _total(shop) == 3000 - fee(5000)

    seller_total, merchant_total = 2000, 3000 - fee(5000)
    for amount, fee_back in ((2000, 1200), (None, 1800)):
        refund = await _refund(shop, intent.id, amount, reverse=True, fee_back=True)
        refunded = refund.amount
        assert refund.status == P.REFUND_STATUS_SUCCEEDED
        assert (refund.transfer_reversal.amount, refund.application_fee_refund.amount) == (
            refunded,
            fee_back,
        )
        seller_total += -refunded + fee_back
        merchant_total += -refunded + refunded - fee_back
        assert await _total(shop, seller) == seller_total
        assert await _total(shop) == merchant_total
        assert await _rows(shop, refund.id) == sorted(
            [(R, -refunded), (T, refunded), (F, -fee_back)]
        )
        assert await _rows(shop, refund.id, seller) == sorted([(T, -refunded), (F, fee_back)])
        await shop.assert_books_balance()

    assert (seller_total, merchant_total) == (0, -fee(5000))
