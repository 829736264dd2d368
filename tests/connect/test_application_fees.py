"""Application fees (fee_): the fee a platform kept on each destination charge, read from what
the charge and its refunds booked, as Stripe's ListApplicationFees and GetApplicationFee."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from paycore.v1 import payment_pb2

from tests.helpers import rich_error
from tests.payment.shop import good_card
from tests.payout.support import PayoutShop, World

P = payment_pb2


async def destination_charge(
    shop: PayoutShop, seller: str, amount: int, application_fee: int, capture: bool = True
) -> P.PaymentIntent:
    return await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=amount,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            transfer_destination=seller,
            application_fee_amount=application_fee,
            capture_method=P.CAPTURE_METHOD_AUTOMATIC if capture else P.CAPTURE_METHOD_MANUAL,
        )
    )


async def test_each_captured_destination_charge_has_its_fee_and_refunds_give_it_back(
    world: World,
) -> None:
    shop = await world.shop()
    alice = await shop.seller("Alice")
    bob = await shop.seller("Bob")
    first = await destination_charge(shop, alice, 10_000, 1000)
    second = await destination_charge(shop, bob, 4000, 333)
    plain = await shop.charge(2000)  # no destination: no fee
    await destination_charge(shop, alice, 3000, 300, capture=False)  # not captured: none yet

    listed = await shop.client.payments.ListApplicationFees(P.ListApplicationFeesRequest())
    assert [fee.payment_intent for fee in listed.data] == [second.id, first.id]
    newest = listed.data[0]
    assert newest.id == "fee_" + second.id.removeprefix("pi_")
    assert (newest.account, newest.amount, newest.amount_refunded, newest.currency) == (
        bob,
        333,
        0,
        "usd",
    )
    assert not newest.refunded

    refund = P.CreateRefundRequest(
        payment_intent=first.id, amount=5000, refund_application_fee=True
    )
    await shop.client.payments.CreateRefund(refund)
    fee = await shop.client.payments.GetApplicationFee(
        P.GetApplicationFeeRequest(id="fee_" + first.id.removeprefix("pi_"))
    )
    assert (fee.amount, fee.amount_refunded, fee.refunded, fee.payment_intent) == (
        1000,
        500,
        False,
        first.id,
    )
    await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=first.id, refund_application_fee=True)
    )
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee.id))
    assert (fee.amount_refunded, fee.refunded) == (1000, True)

    by_account = await shop.client.payments.ListApplicationFees(
        P.ListApplicationFeesRequest(account=alice)
    )
    assert [found.id for found in by_account.data] == [fee.id]
    by_charge = await shop.client.payments.ListApplicationFees(
        P.ListApplicationFeesRequest(payment_intent=second.id)
    )
    assert [found.id for found in by_charge.data] == [newest.id]
    page = await shop.client.payments.ListApplicationFees(P.ListApplicationFeesRequest(limit=1))
    assert [found.id for found in page.data] == [newest.id] and page.has_more
    after = await shop.client.payments.ListApplicationFees(
        P.ListApplicationFeesRequest(starting_after=newest.id)
    )
    assert [found.id for found in after.data] == [fee.id] and not after.has_more
    before = await shop.client.payments.ListApplicationFees(
        P.ListApplicationFeesRequest(ending_before=fee.id)
    )
    assert [found.id for found in before.data] == [newest.id]
    await shop.assert_books_balance()

    other = await world.shop("Other")
    with pytest.raises(aio.AioRpcError) as raised:
        await other.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee.id))
    error = rich_error(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_MISSING")
    mine = await other.client.payments.ListApplicationFees(P.ListApplicationFeesRequest())
    assert list(mine.data) == []
    with pytest.raises(aio.AioRpcError) as raised:
        await other.client.payments.ListApplicationFees(P.ListApplicationFeesRequest(account=alice))
    assert rich_error(raised.value).param == "account"
    # A charge without a fee has none.
    with pytest.raises(aio.AioRpcError) as raised:
        await shop.client.payments.GetApplicationFee(
            P.GetApplicationFeeRequest(id="fee_" + plain.id.removeprefix("pi_"))
        )
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_MISSING",
        "id",
    )
    await shop.close()
    await other.close()
