"""3-D Secure on payment intents: a card that must authenticate leaves an on-session
confirmation in requires_action with a next_action (the PSP's authentication page); once the
buyer completes it, confirming again charges it exactly once; a failed authentication puts the
intent back to requires_payment_method (payment_intent_authentication_failure); off-session, such
a card is declined authentication_required, unless a SetupIntent authenticated it (Stripe's
4000002500003155)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paycore.tools.psp import cards
from paycore.v1 import event_pb2, payment_pb2, subscription_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee, good_card
from tests.subscription.support import JAN_31_2026, Billed

P = payment_pb2
S = subscription_pb2
MAR_1_2026 = JAN_31_2026 + 29 * 86_400  # one renewal due (2026-02-28)
RETURN_URL = "https://shop.example/order/42/back"
SETTLE_ROUNDS = 20


async def _events(shop: Shop, object_id: str) -> list[str]:
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return [event.type for event in reversed(listed.data)]


async def _create(shop: Shop, method: str, key: str = "", **fields: Any) -> P.PaymentIntent:
    metadata = (("idempotency-key", key),) if key else None
    created: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=2000, currency="usd", payment_method=method, confirm=True, **fields
        ),
        metadata=metadata,
    )
    return created


async def _confirm(shop: Shop, intent_id: str, key: str = "") -> P.PaymentIntent:
    metadata = (("idempotency-key", key),) if key else None
    confirmed: P.PaymentIntent = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=intent_id), metadata=metadata
    )
    return confirmed


async def test_a_card_that_must_authenticate_requires_action_then_is_charged_once(
    shop: Shop, psp: PspSimulator
) -> None:
    charges_before = psp.count("charges")
    asked = await _create(shop, "pm_card_authenticationRequired", return_url=RETURN_URL)

    assert asked.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, asked
    assert asked.next_action.type == "redirect_to_url"
    url = asked.next_action.redirect_to_url.url
    assert url.startswith(f"{psp.url}/authenticate/auth_")
    assert asked.next_action.redirect_to_url.return_url == RETURN_URL
    assert not asked.HasField("last_payment_error")
    assert asked.amount_received == 0
    assert psp.count("charges") == charges_before  # nothing charged
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    assert (
        got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
        and got.next_action == asked.next_action
    )
    listed = await shop.client.payments.ListPaymentIntents(
        P.ListPaymentIntentsRequest(status=P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION)
    )
    assert [intent.id for intent in listed.data] == [asked.id]

    # Confirmed before the buyer answered: still waiting on the same page.
    early = await _confirm(shop, asked.id)
    assert early.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
    assert early.next_action.redirect_to_url.url == url

    status, _ = await psp.authenticate(url, "complete")
    assert status == 200
    charged = await _confirm(shop, asked.id, key="after-3ds")
    replayed = await _confirm(shop, asked.id, key="after-3ds")

    assert charged.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, charged
    assert charged.amount_received == 2000
    assert not charged.HasField("next_action")
    assert replayed == charged
    assert psp.count("charges") == charges_before + 1  # exactly one charge
    again = await failure(_confirm(shop, asked.id), grpc.StatusCode.FAILED_PRECONDITION)
    assert again.reason == "PAYMENT_INTENT_UNEXPECTED_STATE"
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    assert await _events(shop, asked.id) == [
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    await shop.assert_books_balance()


async def test_a_failed_authentication_requires_another_payment_method(
    shop: Shop, psp: PspSimulator
) -> None:
    asked = await _create(shop, "pm_card_authenticationRequiredOnSetup")
    assert asked.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION
    assert asked.next_action.redirect_to_url.return_url == ""  # none given: the page stays

    await psp.authenticate(asked.next_action.redirect_to_url.url, "fail")
    failed = await _confirm(shop, asked.id)

    assert failed.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert failed.last_payment_error.code == "PAYMENT_INTENT_AUTHENTICATION_FAILURE"
    assert failed.last_payment_error.message
    assert not failed.HasField("next_action")
    paid = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=asked.id, payment_method="pm_card_visa")
    )
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    await shop.assert_books_balance()


async def test_an_intent_waiting_for_authentication_cancels(shop: Shop) -> None:
    asked = await _create(shop, "pm_card_authenticationRequired")
    canceled = await shop.client.payments.CancelPaymentIntent(
        P.CancelPaymentIntentRequest(id=asked.id)
    )
    assert canceled.status == P.PAYMENT_INTENT_STATUS_CANCELED
    assert not canceled.HasField("next_action")
    await shop.assert_books_balance()


async def test_an_off_session_confirmation_is_declined_authentication_required(
    shop: Shop,
) -> None:
    customer = (await new_customer(shop.client)).id
    for method in ("pm_card_authenticationRequired", "pm_card_authenticationRequiredOnSetup"):
        declined = await _create(shop, method, customer=customer, off_session=True)

        assert declined.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
        assert declined.last_payment_error.code == "AUTHENTICATION_REQUIRED"
        assert declined.last_payment_error.decline_code == "authentication_required"
        assert not declined.HasField("next_action")
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    await shop.assert_books_balance()


async def _setup(shop: Shop, customer: str, method: str, **fields: Any) -> P.SetupIntent:
    created: P.SetupIntent = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(customer=customer, payment_method=method, confirm=True, **fields)
    )
    return created


async def _confirm_setup(shop: Shop, setup_id: str, key: str = "") -> P.SetupIntent:
    metadata = (("idempotency-key", key),) if key else None
    confirmed: P.SetupIntent = await shop.client.payments.ConfirmSetupIntent(
        P.ConfirmSetupIntentRequest(id=setup_id), metadata=metadata
    )
    return confirmed


async def test_a_setup_that_authenticated_lets_the_card_be_charged_off_session(
    shop: Shop, psp: PspSimulator
) -> None:
    customer = (await new_customer(shop.client)).id
    asked = await _setup(
        shop, customer, "pm_card_authenticationRequiredOnSetup", return_url=RETURN_URL
    )

    assert asked.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION, asked
    assert asked.next_action.type == "redirect_to_url"
    url = asked.next_action.redirect_to_url.url
    assert url.startswith(f"{psp.url}/authenticate/auth_")
    assert asked.next_action.redirect_to_url.return_url == RETURN_URL

    await psp.authenticate(url, "complete")
    succeeded = await _confirm_setup(shop, asked.id, key="setup-after-3ds")

    assert succeeded.status == P.SETUP_INTENT_STATUS_SUCCEEDED, succeeded
    assert not succeeded.HasField("next_action")
    assert await _confirm_setup(shop, asked.id, key="setup-after-3ds") == succeeded
    assert await _events(shop, asked.id) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]
    # Saved with an authentication: charged off-session without one, as Stripe's card is.
    paid = await _create(shop, succeeded.payment_method, customer=customer, off_session=True)
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    # On-session too: "no further authentication is needed" once set up, Stripe's card says.
    on_session = await _create(shop, succeeded.payment_method, customer=customer)
    assert on_session.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, on_session
    await shop.assert_books_balance()


async def test_a_setup_whose_authentication_failed_requires_a_payment_method(
    shop: Shop, psp: PspSimulator
) -> None:
    customer = (await new_customer(shop.client)).id
    asked = await _setup(shop, customer, "pm_card_authenticationRequired")
    assert asked.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION

    await psp.authenticate(asked.next_action.redirect_to_url.url, "fail")
    failed = await _confirm_setup(shop, asked.id)

    assert failed.status == P.SETUP_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert failed.last_setup_error.code == "SETUP_INTENT_AUTHENTICATION_FAILURE"
    assert not failed.HasField("next_action")
    assert await _events(shop, asked.id) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.setup_failed",
    ]
    # The always-authenticate card, even set up, declines off-session.
    again = await _setup(shop, customer, "pm_card_authenticationRequired")
    await psp.authenticate(again.next_action.redirect_to_url.url, "complete")
    saved = await _confirm_setup(shop, again.id)
    assert saved.status == P.SETUP_INTENT_STATUS_SUCCEEDED
    declined = await _create(shop, saved.payment_method, customer=customer, off_session=True)
    assert declined.last_payment_error.decline_code == "authentication_required"
    await shop.assert_books_balance()


async def test_subscription_charges_are_off_session(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    """A renewal's charge is merchant-initiated: a card set up with an authentication through
    a SetupIntent (4000002500003155) renews without one. The always-authenticate card's first
    invoice, charged in CreateSubscription with the customer there (on-session, as Stripe's),
    waits for their authentication; its off-session renewals are declined
    authentication_required (tests/subscription/test_invoice_authentication.py)."""
    billed = await Billed(payin, shop).setup(good_card(), unit_amount=2000)
    asked = await _setup(shop, billed.customer, "pm_card_authenticationRequiredOnSetup")
    await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    billed.card = (await _confirm_setup(shop, asked.id)).payment_method
    subscription = await billed.subscribe()

    await billed.advance(MAR_1_2026)

    invoices = await billed.invoices(subscription.id)
    assert [invoice.status for invoice in invoices] == [S.INVOICE_STATUS_PAID] * 2, invoices
    assert (await shop.balance())[1] == {"usd": 2 * (2000 - fee(2000))}

    billed.card = await shop.card(cards.CARD_AUTHENTICATION_ALWAYS, billed.customer)
    declined = await billed.subscribe()
    (invoice,) = await billed.invoices(declined.id)
    assert invoice.status == S.INVOICE_STATUS_OPEN
    intent = await shop.client.payments.GetPaymentIntent(
        P.GetPaymentIntentRequest(id=invoice.payment_intent)
    )
    assert intent.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, intent
    assert intent.next_action.type == "redirect_to_url"
    await shop.assert_books_balance()


async def test_a_lost_answer_of_the_authenticated_charge_never_charges_twice(
    shop: Shop, payin: PayIn, psp: PspSimulator
) -> None:
    """The PSP charged with the authentication and the answer was lost: the executor asks the
    PSP for the key's outcome, never charging again; confirmations racing after the buyer
    completed charge once between them."""
    charges_before = psp.count("charges")
    asked = await _create(shop, "pm_card_authenticationRequired")
    await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    await psp.set_faults(lose_answers=1)

    answers = await asyncio.gather(
        _confirm(shop, asked.id, key="race-1"),
        _confirm(shop, asked.id, key="race-2"),
        return_exceptions=True,
    )
    refused = [answer for answer in answers if isinstance(answer, grpc.aio.AioRpcError)]
    assert len(refused) <= 1, answers  # the loser finds it processing (or already charged)
    intent = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))
    for _ in range(SETTLE_ROUNDS):
        if intent.status != P.PAYMENT_INTENT_STATUS_PROCESSING:
            break
        await asyncio.sleep(0.3)
        await payin.run_worker_once()
        intent = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=asked.id))

    assert intent.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, intent
    assert (await psp.set_faults())["lose_answers"] == 0  # the answer was lost
    assert psp.count("charges") == charges_before + 1
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000)}
    await shop.assert_books_balance()


async def _update(shop: Shop, intent_id: str, **fields: Any) -> P.PaymentIntent:
    updated: P.PaymentIntent = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=intent_id, **fields)
    )
    return updated


async def test_an_update_of_the_card_or_amount_while_authenticating_asks_for_confirmation(
    shop: Shop, psp: PspSimulator
) -> None:
    """Stripe's update of an intent in requires_action: another payment_method, amount or
    currency moves it back to requires_confirmation without next_action (the authentication
    was for what it was); other fields change as in requires_confirmation."""
    asked = await _create(shop, "pm_card_authenticationRequired", return_url=RETURN_URL)
    described = await _update(shop, asked.id, description="order 42", metadata={"order": "42"})
    assert described.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, described
    assert described.next_action == asked.next_action
    assert (described.description, dict(described.metadata)) == ("order 42", {"order": "42"})

    switched = await _update(shop, asked.id, payment_method="pm_card_visa")
    assert switched.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION, switched
    assert not switched.HasField("next_action")
    assert switched.payment_method != asked.payment_method
    paid = await _confirm(shop, asked.id)
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    assert paid.amount_received == 2000

    again = await _create(shop, "pm_card_authenticationRequired")
    await psp.authenticate(again.next_action.redirect_to_url.url, "complete")
    more = await _update(shop, again.id, amount=3000)
    assert more.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CONFIRMATION, more
    assert not more.HasField("next_action")
    # The authentication was for 2000: the new amount is authenticated afresh.
    asked_again = await _confirm(shop, again.id)
    assert asked_again.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, asked_again
    url = asked_again.next_action.redirect_to_url.url
    assert url != again.next_action.redirect_to_url.url
    await psp.authenticate(url, "complete")
    charged = await _confirm(shop, again.id)
    assert charged.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, charged
    assert charged.amount_received == 3000
    assert (await shop.balance())[1] == {"usd": 2000 - fee(2000) + 3000 - fee(3000)}
    await shop.assert_books_balance()
