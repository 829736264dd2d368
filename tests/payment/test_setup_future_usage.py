"""Stripe's `setup_future_usage` and `error_on_requires_action` on payment intents.

setup_future_usage (on create, update or confirm, rendered on the intent): once the intent
succeeds (or is authorized) its payment method is saved as a succeeded SetupIntent saves it:
attached to the intent's customer (payment_method.attached) and charged later off-session; a
card that authenticated (3-D Secure) for such an intent is then charged off-session without
authenticating again. Without a customer it is accepted and nothing is attached (Stripe's).
error_on_requires_action: a card that must authenticate declines the confirmation
(authentication_required) instead of asking the buyer; nothing is charged."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.client import connect
from paycore.v1 import customer_pb2, event_pb2, payment_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop, fee, good_card

P = payment_pb2
OFF = P.SETUP_FUTURE_USAGE_OFF_SESSION
ON = P.SETUP_FUTURE_USAGE_ON_SESSION
UNKNOWN = P.SetupFutureUsage.ValueType(9)


async def _create(shop: Shop, key: str = "", **fields: Any) -> P.PaymentIntent:
    metadata = (("idempotency-key", key),) if key else None
    created: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(amount=2000, currency="usd", **fields), metadata=metadata
    )
    return created


async def _method(shop: Shop, method_id: str) -> customer_pb2.PaymentMethod:
    found: customer_pb2.PaymentMethod = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=method_id)
    )
    return found


async def _events(shop: Shop, object_id: str) -> list[str]:
    listed = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=object_id, limit=100)
    )
    return [event.type for event in reversed(listed.data)]


async def test_a_succeeded_intent_saves_its_card_to_the_customer_for_later(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())

    paid = await _create(
        shop,
        key="save-1",
        customer=customer,
        payment_method=method,
        confirm=True,
        setup_future_usage=OFF,
    )

    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    assert paid.setup_future_usage == OFF
    assert (await _method(shop, method)).customer == customer
    assert await _events(shop, method) == ["payment_method.attached"]
    assert (
        await _create(
            shop,
            key="save-1",
            customer=customer,
            payment_method=method,
            confirm=True,
            setup_future_usage=OFF,
        )
        == paid
    )
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=paid.id))
    assert got.setup_future_usage == OFF
    # Saved: the customer's card, charged later without them.
    later = await _create(
        shop, customer=customer, payment_method=method, confirm=True, off_session=True
    )
    assert later.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, later
    listed = await shop.client.customers.ListPaymentMethods(
        customer_pb2.ListPaymentMethodsRequest(customer=customer)
    )
    assert [found.id for found in listed.data] == [method]
    assert (await shop.balance())[1] == {"usd": 2 * (2000 - fee(2000))}
    await shop.assert_books_balance()


async def test_an_intent_without_the_setting_attaches_nothing(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())

    paid = await _create(shop, customer=customer, payment_method=method, confirm=True)

    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert paid.setup_future_usage == P.SETUP_FUTURE_USAGE_UNSPECIFIED
    assert (await _method(shop, method)).customer == ""


async def test_set_by_update_and_by_confirm_saves_on_authorization(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    updated_method = await shop.card(good_card())
    intent = await _create(shop, customer=customer, payment_method=updated_method)
    updated = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=intent.id, setup_future_usage=ON)
    )
    assert updated.setup_future_usage == ON
    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=intent.id)
    )
    assert confirmed.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert (await _method(shop, updated_method)).customer == customer

    # Given at confirmation, of a manual capture: saved once authorized.
    method = await shop.card(good_card())
    manual = await _create(
        shop,
        customer=customer,
        payment_method=method,
        capture_method=P.CAPTURE_METHOD_MANUAL,
    )
    authorized = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=manual.id, setup_future_usage=OFF)
    )
    assert authorized.status == P.PAYMENT_INTENT_STATUS_REQUIRES_CAPTURE, authorized
    assert authorized.setup_future_usage == OFF
    assert (await _method(shop, method)).customer == customer
    await shop.assert_books_balance()


async def test_without_a_customer_it_is_accepted_and_attaches_nothing(shop: Shop) -> None:
    method = await shop.card(good_card())

    paid = await _create(shop, payment_method=method, confirm=True, setup_future_usage=OFF)

    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert paid.setup_future_usage == OFF
    assert (await _method(shop, method)).customer == ""


async def test_an_unknown_usage_is_refused_naming_the_field(shop: Shop) -> None:
    customer = (await new_customer(shop.client)).id
    refused = await failure(
        _create(shop, customer=customer, payment_method="pm_card_visa", setup_future_usage=UNKNOWN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused.param == "setup_future_usage"
    intent = await _create(shop, customer=customer)
    for call in (
        shop.client.payments.UpdatePaymentIntent(
            P.UpdatePaymentIntentRequest(id=intent.id, setup_future_usage=UNKNOWN)
        ),
        shop.client.payments.ConfirmPaymentIntent(
            P.ConfirmPaymentIntentRequest(
                id=intent.id, payment_method="pm_card_visa", setup_future_usage=UNKNOWN
            )
        ),
    ):
        refused = await failure(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert refused.param == "setup_future_usage"
    listed = await shop.client.payments.ListPaymentIntents(P.ListPaymentIntentsRequest())
    assert [found.id for found in listed.data] == [intent.id]  # the refused create made none
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert got.setup_future_usage == P.SETUP_FUTURE_USAGE_UNSPECIFIED


async def test_a_card_authenticated_for_a_saving_intent_is_charged_off_session_later(
    shop: Shop, psp: PspSimulator
) -> None:
    customer = (await new_customer(shop.client)).id
    asked = await _create(
        shop,
        customer=customer,
        payment_method="pm_card_authenticationRequiredOnSetup",
        confirm=True,
        setup_future_usage=OFF,
    )
    assert asked.status == P.PAYMENT_INTENT_STATUS_REQUIRES_ACTION, asked
    assert (await _method(shop, asked.payment_method)).customer == ""  # not before it succeeds

    await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
    paid = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=asked.id)
    )

    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    assert (await _method(shop, paid.payment_method)).customer == customer
    later = await _create(
        shop,
        customer=customer,
        payment_method=paid.payment_method,
        confirm=True,
        off_session=True,
    )
    assert later.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED, later
    await shop.assert_books_balance()


async def test_error_on_requires_action_declines_a_card_that_must_authenticate(
    shop: Shop, psp: PspSimulator
) -> None:
    charges_before = psp.count("charges")
    declined = await _create(
        shop,
        key="eora-1",
        payment_method="pm_card_authenticationRequired",
        confirm=True,
        error_on_requires_action=True,
    )

    assert declined.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD, declined
    assert declined.last_payment_error.code == "AUTHENTICATION_REQUIRED"
    assert declined.last_payment_error.decline_code == "authentication_required"
    assert not declined.HasField("next_action")
    assert declined.amount_received == 0
    assert await shop.balance() == ({"usd": 0}, {"usd": 0})
    assert psp.charges_for(declined.id) == ["declined"]

    # At confirmation too; a card that needs no authentication is charged as always.
    intent = await _create(shop, payment_method="pm_card_authenticationRequired")
    refused = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=intent.id, error_on_requires_action=True)
    )
    assert refused.last_payment_error.decline_code == "authentication_required"
    paid = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(
            id=intent.id, payment_method="pm_card_visa", error_on_requires_action=True
        )
    )
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert psp.count("charges") == charges_before + 3
    refused_create = await failure(
        _create(shop, payment_method="pm_card_visa", error_on_requires_action=True),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused_create.param == "error_on_requires_action"
    await shop.assert_books_balance()


async def test_the_buyer_may_raise_the_usage_but_never_lower_it(payin: PayIn, shop: Shop) -> None:
    """Stripe's rule for a publishable key: a usage the merchant set changes only from
    on_session to off_session."""
    customer = (await new_customer(shop.client)).id
    lowered = await _create(shop, customer=customer, setup_future_usage=OFF)
    raised = await _create(shop, customer=customer, setup_future_usage=ON)
    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        refused = await failure(
            browser.payments.ConfirmPaymentIntent(
                P.ConfirmPaymentIntentRequest(
                    id=lowered.id,
                    client_secret=lowered.client_secret,
                    payment_method="pm_card_visa",
                    setup_future_usage=ON,
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert refused.param == "setup_future_usage"
        confirmed = await browser.payments.ConfirmPaymentIntent(
            P.ConfirmPaymentIntentRequest(
                id=raised.id,
                client_secret=raised.client_secret,
                payment_method="pm_card_visa",
                setup_future_usage=OFF,
            )
        )
    assert confirmed.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert confirmed.setup_future_usage == OFF
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=lowered.id))
    assert (got.status, got.setup_future_usage) == (
        P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD,
        OFF,
    )
    # The merchant's secret key may set any.
    merchant = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(
            id=lowered.id, payment_method="pm_card_visa", setup_future_usage=ON
        )
    )
    assert merchant.setup_future_usage == ON


async def test_an_update_may_unset_it_but_not_set_and_unset_at_once(shop: Shop) -> None:
    """Stripe's `setup_future_usage=""` (clear_setup_future_usage): the card is not saved."""
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())
    intent = await _create(shop, customer=customer, payment_method=method, setup_future_usage=OFF)
    refused = await failure(
        shop.client.payments.UpdatePaymentIntent(
            P.UpdatePaymentIntentRequest(
                id=intent.id, setup_future_usage=ON, clear_setup_future_usage=True
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert refused.param == "setup_future_usage"
    unset = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=intent.id, clear_setup_future_usage=True)
    )
    assert unset.setup_future_usage == P.SETUP_FUTURE_USAGE_UNSPECIFIED
    paid = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(id=intent.id)
    )
    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert paid.setup_future_usage == P.SETUP_FUTURE_USAGE_UNSPECIFIED
    assert (await _method(shop, method)).customer == ""
    await shop.assert_books_balance()
