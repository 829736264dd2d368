"""3-D Secure finished as Stripe's: once the buyer answers the PSP's authentication page, the
intent (or setup) waiting in requires_action goes on by itself, without a confirmation from
anyone: the PSP's authentications feed, read by the worker's `authentication_feed` job, runs
the confirmation again (paycore.payment.authenticated). One charge per authentication, however
the feed, a reread of it and the merchant's own confirmation race."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paycore.payment.authenticated import authentication_feed
from paycore.v1 import event_pb2, payment_pb2
from sqlalchemy import text

from tests.customer.support import new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee

P = payment_pb2
RETURN_URL = "https://shop.example/order/42/back"


async def read_feed(payin: PayIn) -> int:
    """The worker's authentication_feed job, on every shard, until it finds nothing."""
    job = authentication_feed(payin.platform.authentications, payin.platform.shards)
    total = 0
    while True:
        found = sum([await job.run(engine) for engine in payin.platform.shards.engines])
        total += found
        if not found:
            return total


async def reread_feed_from_the_start(payin: PayIn) -> None:
    async with payin.platform.shards.home.begin() as connection:
        await connection.execute(text("UPDATE dispute_feeds SET position = 0, lease_until = 0"))
    await read_feed(payin)


async def _events(shop: Shop, object_id: str) -> list[str]:
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return [event.type for event in reversed(listed.data)]


async def _create(shop: Shop, method: str, **fields: Any) -> P.PaymentIntent:
    created: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2000, currency="usd", payment_method=method, confirm=True, **fields
        )
    )
    assert created.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, created
    return created


async def _get(shop: Shop, intent_id: str) -> P.PaymentIntent:
    got: P.PaymentIntent = await shop.client.payments.GetPaymentIntent(
        P.GetPaymentIntentRequest(id=intent_id)
    )
    return got


async def test_a_completed_authentication_charges_the_intent_without_a_confirmation(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    asked = await _create(shop, "pm_card_authenticationRequired", return_url=RETURN_URL)
    charges_before = psp.count("charges")

    status, _ = await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    assert status == 200
    assert await read_feed(payin) == 1

    got = await _get(shop, asked.id)
    assert got.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, got
    assert got.amount_received == 2000 and got.latest_charge.startswith("ch_")
    assert not got.HasField("next_action")
    assert psp.count("charges") == charges_before + 1
    assert psp.charges_for(asked.id) == ["captured"]
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    events = await _events(shop, asked.id)
    assert events[-2:] == ["payment_intent.processing", "payment_intent.succeeded"]
    assert "charge.succeeded" in await _events(shop, got.latest_charge)
    # Read again from its start, the feed changes nothing; nor does a late confirmation.
    await reread_feed_from_the_start(payin)
    assert psp.charges_for(asked.id) == ["captured"]
    late = await _failure(
        shop.client.payments.ConfirmPaymentIntent(P.ConfirmPaymentIntentRequest(id=asked.id))
    )
    assert late == grpc.StatusCode.FAILED_PRECONDITION
    assert (await _get(shop, asked.id)) == got
    await shop.assert_books_balance()


async def _failure(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    raise AssertionError("the call succeeded")


async def test_a_manual_capture_is_authorized_by_the_buyer_alone(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    asked = await _create(
        shop,
        "pm_card_authenticationRequired",
        capture_method=P.CAPTURE_METHOD_MANUAL,
        return_url=RETURN_URL,
    )
    await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    await read_feed(payin)

    got = await _get(shop, asked.id)
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE, got
    assert psp.charges_for(asked.id) == ["authorized"]
    assert "payment_intent.amount_capturable_updated" in await _events(shop, asked.id)
    await shop.assert_books_balance()


async def test_a_failed_authentication_asks_for_another_payment_method(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    asked = await _create(shop, "pm_card_authenticationRequiredOnSetup", return_url=RETURN_URL)
    await psp.authenticate(asked.next_action.redirect_to_url.url, "fail")
    await read_feed(payin)

    got = await _get(shop, asked.id)
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD, got
    assert got.last_payment_error.code == "PAYMENT_INTENT_AUTHENTICATION_FAILURE"
    assert not got.HasField("next_action")
    assert (await _events(shop, asked.id))[-1] == "payment_intent.payment_failed"
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    await shop.assert_books_balance()


async def test_the_feed_and_the_merchants_confirmation_racing_charge_once(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    intents = [
        await _create(shop, "pm_card_authenticationRequired", return_url=RETURN_URL)
        for _ in range(4)
    ]
    for intent in intents:
        await psp.authenticate(intent.next_action.redirect_to_url.url, "complete")

    async def merchant_confirms(intent_id: str) -> None:
        try:
            await shop.client.payments.ConfirmPaymentIntent(
                P.ConfirmPaymentIntentRequest(id=intent_id)
            )
        except grpc.aio.AioRpcError as error:  # the feed moved it first
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error

    applied = payin.platform.authentications
    authentication_ids = [
        intent.next_action.redirect_to_url.url.rsplit("/", 1)[-1] for intent in intents
    ]
    await asyncio.gather(
        read_feed(payin),
        *(merchant_confirms(intent.id) for intent in intents),
        *(
            applied.finish_intent(shop.id, intent.id, authentication_id)
            for intent, authentication_id in zip(intents, authentication_ids, strict=True)
        ),
    )
    await read_feed(payin)

    for intent in intents:
        got = await _get(shop, intent.id)
        assert got.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, got
        assert psp.charges_for(intent.id) == ["captured"]
        assert (await _events(shop, intent.id)).count("payment_intent.succeeded") == 1
    assert (await shop.balance())[1] == {"usd": 4 * (2000 - fee(2000))}
    await shop.assert_books_balance()


async def test_a_lost_answer_of_the_finishing_charge_is_resolved_by_a_status_query(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    asked = await _create(shop, "pm_card_authenticationRequired", return_url=RETURN_URL)
    await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    await psp.set_faults(lose_answers=1)
    await read_feed(payin)
    while await payin.run_worker_once():
        pass

    got = await _get(shop, asked.id)
    assert got.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, got
    assert psp.charges_for(asked.id) == ["captured"]
    await shop.assert_books_balance()


async def test_a_setup_goes_on_once_its_buyer_answered(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    customer = (await new_customer(shop.client)).id
    waiting = []
    for method in ("pm_card_authenticationRequiredOnSetup", "pm_card_authenticationRequired"):
        created: P.SetupIntent = await shop.client.payments.CreateSetupIntent(
            P.CreateSetupIntentRequest(
                customer=customer, payment_method=method, confirm=True, return_url=RETURN_URL
            )
        )
        assert created.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION, created
        waiting.append(created)
    completed, failed = waiting
    await psp.authenticate(completed.next_action.redirect_to_url.url, "complete")
    await psp.authenticate(failed.next_action.redirect_to_url.url, "fail")
    await read_feed(payin)

    got = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=completed.id))
    assert got.status == P.SETUP_INTENT_STATUS_SUCCEEDED, got
    assert await _events(shop, completed.id) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]
    not_set_up = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=failed.id))
    assert not_set_up.status == P.SETUP_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert not_set_up.last_setup_error.code == "SETUP_INTENT_AUTHENTICATION_FAILURE"
    # Saved with its authentication: charged off-session without one.
    paid = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2000,
            currency="usd",
            customer=customer,
            payment_method=got.payment_method,
            confirm=True,
            off_session=True,
        )
    )
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    await shop.assert_books_balance()
