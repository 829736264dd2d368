"""Application fee refunds (fr_): the platform gives a seller back some or all of the fee it
kept on a destination charge, from its balance to the seller's, never more than is left of the
fee (also against the charge's own refunds with refund_application_fee), as Stripe's
CreateApplicationFeeRefund, its list and retrieval."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import grpc
import pytest
from grpc import aio
from paycore.v1 import event_pb2, payment_pb2, wallet_pb2

from tests.connect.support import assert_books
from tests.connect.test_application_fees import destination_charge
from tests.helpers import rich_error
from tests.payout.support import PayoutShop, World

P = payment_pb2
W = wallet_pb2
FEE_REFUND = W.BALANCE_TRANSACTION_TYPE_APPLICATION_FEE_REFUND


def fee_of(intent: P.PaymentIntent) -> str:
    return "fee_" + intent.id.removeprefix("pi_")


async def refund_fee(
    shop: PayoutShop, fee_id: str, amount: int | None = None, key: str | None = None
) -> P.FeeRefund:
    request = P.CreateApplicationFeeRefundRequest(id=fee_id, metadata={"why": "goodwill"})
    if amount is not None:
        request.amount = amount
    return await shop.client.payments.CreateApplicationFeeRefund(
        request, metadata=(("idempotency-key", key),) if key else None
    )


async def fee_rows(shop: PayoutShop, account: str) -> list[tuple[int, str]]:
    """(amount, source) of each fee refund on the balance, its parts (the platform's available
    then pending balance) added up."""
    by_source: dict[str, int] = {}
    for t in await shop.transactions(account):
        if t.type == FEE_REFUND:
            by_source[t.source] = by_source.get(t.source, 0) + t.amount
    return sorted((amount, source) for source, amount in by_source.items())


async def refunded_events(shop: PayoutShop) -> list[tuple[str, int]]:
    """(fee, amount_refunded) of each application_fee.refunded, oldest first."""
    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="application_fee.refunded", limit=100)
    )
    carried = []
    for event in reversed(events.data):
        message = P.ApplicationFee()
        assert event.data.object.Unpack(message)
        carried.append((message.id, message.amount_refunded))
    return carried


async def test_fee_refunds_give_the_seller_back_at_most_the_fee(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    await world.advance(2)
    platform_before = await shop.balance()
    fee_id = fee_of(charge)

    first = await refund_fee(shop, fee_id, 300, key="fr-1")
    assert first.id.startswith("fr_")
    assert (first.fee, first.amount, first.currency, dict(first.metadata)) == (
        fee_id,
        300,
        "usd",
        {"why": "goodwill"},
    )
    assert await refund_fee(shop, fee_id, 300, key="fr-1") == first  # replayed
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee_id))
    assert (fee.amount, fee.amount_refunded, fee.refunded) == (1000, 300, False)
    assert list(fee.refunds) == [first]

    with pytest.raises(aio.AioRpcError) as raised:
        await refund_fee(shop, fee_id, 701)
    error = rich_error(raised.value)
    assert (error.code, error.reason, error.param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "AMOUNT_TOO_LARGE",
        "amount",
    )
    rest = await refund_fee(shop, fee_id)  # no amount: all that is left
    assert rest.amount == 700
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee_id))
    assert (fee.amount_refunded, fee.refunded) == (1000, True)
    assert [(found.id, found.amount) for found in fee.refunds] == [(rest.id, 700), (first.id, 300)]
    with pytest.raises(aio.AioRpcError) as raised:
        await refund_fee(shop, fee_id)
    error = rich_error(raised.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHARGE_ALREADY_REFUNDED",
    )

    # The money: the platform's balance -> the seller's available one, a row on each side.
    available, pending = await shop.balance()
    assert available["usd"] + pending["usd"] == (
        platform_before[0]["usd"] + platform_before[1]["usd"] - 1000
    )
    assert await shop.balance(seller) == ({"usd": 10_000 - 1000 + 1000}, {"usd": 0})
    assert await fee_rows(shop, "") == sorted([(-300, first.id), (-700, rest.id)])
    assert await fee_rows(shop, seller) == sorted([(300, first.id), (700, rest.id)])
    assert first.balance_transaction in {
        t.id for t in await shop.transactions() if t.source == first.id
    }

    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="application_fee.refunded")
    )
    carried = []
    for event in reversed(events.data):
        message = P.ApplicationFee()
        assert event.data.object.Unpack(message)
        carried.append((message.id, message.amount_refunded))
    assert carried == [(fee_id, 300), (fee_id, 1000)]

    listed = await shop.client.payments.ListApplicationFeeRefunds(
        P.ListApplicationFeeRefundsRequest(id=fee_id)
    )
    assert [found.id for found in listed.data] == [rest.id, first.id]
    page = await shop.client.payments.ListApplicationFeeRefunds(
        P.ListApplicationFeeRefundsRequest(id=fee_id, limit=1, starting_after=rest.id)
    )
    assert [found.id for found in page.data] == [first.id] and not page.has_more
    got = await shop.client.payments.GetApplicationFeeRefund(
        P.GetApplicationFeeRefundRequest(id=fee_id, refund=first.id)
    )
    assert got == first
    await world.run_jobs()
    await assert_books(shop, seller)
    await shop.close()


async def test_fee_refunds_and_the_charges_refunds_share_one_fee(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    other = await destination_charge(shop, seller, 4000, 400)
    fee_id = fee_of(charge)
    await refund_fee(shop, fee_id, 600)
    # The charge's full refund gives back its fee's share, capped at what is left: 400.
    refund = await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=charge.id, refund_application_fee=True)
    )
    assert refund.application_fee_refund.amount == 400
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee_id))
    assert (fee.amount_refunded, fee.refunded) == (1000, True)
    with pytest.raises(aio.AioRpcError) as raised:
        await refund_fee(shop, fee_id, 1)
    assert rich_error(raised.value).reason == "CHARGE_ALREADY_REFUNDED"

    # The other way: the charge's half refund gave back 200, a fee refund takes the other 200.
    await shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=other.id, amount=2000, refund_application_fee=True)
    )
    with pytest.raises(aio.AioRpcError) as raised:
        await refund_fee(shop, fee_of(other), 201)
    assert rich_error(raised.value).param == "amount"
    assert (await refund_fee(shop, fee_of(other))).amount == 200
    # Each gift of the fee says so, the charge refunds' shares too (as Stripe's).
    assert await refunded_events(shop) == [
        (fee_id, 600),
        (fee_id, 1000),
        (fee_of(other), 200),
        (fee_of(other), 400),
    ]
    await world.run_jobs()
    await assert_books(shop, seller)
    await shop.close()


async def test_fee_refunds_racing_one_fee_never_give_back_more_than_it(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    fee_id = fee_of(charge)
    results = await asyncio.gather(
        *(refund_fee(shop, fee_id, 300, key=f"race-{n}") for n in range(6)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, P.FeeRefund)]
    refused = [r for r in results if isinstance(r, aio.AioRpcError)]
    assert len(made) == 3 and len(refused) == 3, results
    assert {rich_error(r).reason for r in refused} == {"AMOUNT_TOO_LARGE"}
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee_id))
    assert fee.amount_refunded == 900
    assert sum(amount for amount, _ in await fee_rows(shop, seller)) == 900
    await world.run_jobs()
    await assert_books(shop, seller)
    await shop.close()


async def test_a_fee_refund_of_no_fee_or_of_another_merchants_is_not_found(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    uncaptured = await destination_charge(shop, seller, 3000, 300, capture=False)
    made = await refund_fee(shop, fee_of(charge), 100)
    other = await world.shop()
    other_seller = await other.seller("Bob")
    other_charge = await destination_charge(other, other_seller, 5000, 500)
    other_made = await refund_fee(other, fee_of(other_charge), 100)

    calls: list[tuple[Awaitable[object], str]] = [
        (refund_fee(shop, fee_of(uncaptured)), "id"),
        (refund_fee(other, fee_of(charge)), "id"),
        (
            other.client.payments.ListApplicationFeeRefunds(
                P.ListApplicationFeeRefundsRequest(id=fee_of(charge))
            ),
            "id",
        ),
        (
            other.client.payments.GetApplicationFeeRefund(
                P.GetApplicationFeeRefundRequest(id=fee_of(charge), refund=made.id)
            ),
            "id",
        ),
        (
            shop.client.payments.GetApplicationFeeRefund(
                P.GetApplicationFeeRefundRequest(id=fee_of(charge), refund=other_made.id)
            ),
            "refund",
        ),
    ]
    for call, param in calls:
        with pytest.raises(aio.AioRpcError) as raised:
            await call
        error = rich_error(raised.value)
        assert (error.code, error.param) == (grpc.StatusCode.NOT_FOUND, param), error
    with pytest.raises(aio.AioRpcError) as raised:
        await refund_fee(shop, fee_of(charge), 0)
    assert (rich_error(raised.value).code, rich_error(raised.value).param) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "amount",
    )
    fee = await shop.client.payments.GetApplicationFee(
        P.GetApplicationFeeRequest(id=fee_of(charge))
    )
    assert fee.amount_refunded == 100
    await world.run_jobs()
    await assert_books(shop, seller)
    await assert_books(other, other_seller)
    await shop.close()
    await other.close()


async def test_a_fee_refunds_metadata_changes_and_says_so(world: World) -> None:
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    other = await destination_charge(shop, seller, 5000, 500)
    made = await refund_fee(shop, fee_of(charge), 100)
    payments = shop.client.payments
    changed = await payments.UpdateApplicationFeeRefund(
        P.UpdateApplicationFeeRefundRequest(
            id=fee_of(charge), refund=made.id, metadata={"why": "", "note": "n"}
        ),
        metadata=(("idempotency-key", "fr-up-1"),),
    )
    assert (changed.id, dict(changed.metadata), changed.amount) == (made.id, {"note": "n"}, 100)
    same = await payments.UpdateApplicationFeeRefund(
        P.UpdateApplicationFeeRefundRequest(
            id=fee_of(charge), refund=made.id, metadata={"note": "n"}
        )
    )
    assert same == changed  # nothing changed: no event
    got = await payments.GetApplicationFeeRefund(
        P.GetApplicationFeeRefundRequest(id=fee_of(charge), refund=made.id)
    )
    assert got == changed
    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="application_fee.refund.updated")
    )
    carried = []
    for event in events.data:
        message = P.FeeRefund()
        assert event.data.object.Unpack(message)
        carried.append((message.id, dict(message.metadata)))
    assert carried == [(made.id, {"note": "n"})]
    with pytest.raises(aio.AioRpcError) as raised:
        await payments.UpdateApplicationFeeRefund(
            P.UpdateApplicationFeeRefundRequest(id=fee_of(other), refund=made.id, metadata={})
        )
    assert (rich_error(raised.value).code, rich_error(raised.value).param) == (
        grpc.StatusCode.NOT_FOUND,
        "refund",
    )
    await shop.close()


async def test_fee_refunds_racing_the_charges_refund_share_the_fee_exactly(world: World) -> None:
    """Three fee refunds of 300 race the charge's full refund with refund_application_fee:
    whatever the order, what they give back adds up to the fee, never more."""
    shop = await world.shop()
    seller = await shop.seller("Alice")
    charge = await destination_charge(shop, seller, 10_000, 1000)
    fee_id = fee_of(charge)
    full = shop.client.payments.CreateRefund(
        P.CreateRefundRequest(payment_intent=charge.id, refund_application_fee=True)
    )
    results = await asyncio.gather(
        full,
        *(refund_fee(shop, fee_id, 300, key=f"mix-{n}") for n in range(3)),
        return_exceptions=True,
    )
    refund = results[0]
    assert isinstance(refund, P.Refund), refund
    made = [r for r in results[1:] if isinstance(r, P.FeeRefund)]
    refused = [r for r in results[1:] if isinstance(r, aio.AioRpcError)]
    assert len(made) + len(refused) == 3
    assert {rich_error(r).reason for r in refused} <= {
        "AMOUNT_TOO_LARGE",
        "CHARGE_ALREADY_REFUNDED",
    }
    assert refund.application_fee_refund.amount + 300 * len(made) == 1000
    fee = await shop.client.payments.GetApplicationFee(P.GetApplicationFeeRequest(id=fee_id))
    assert (fee.amount_refunded, fee.refunded) == (1000, True)
    assert sum(amount for amount, _ in await fee_rows(shop, seller)) == 1000
    await world.run_jobs()
    await assert_books(shop, seller)
    await shop.close()
