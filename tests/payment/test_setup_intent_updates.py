"""UpdateSetupIntent (Stripe's `POST /v1/setup_intents/{id}`): description, metadata, payment
method and customer of a setup not yet confirmed or waiting for its buyer's authentication; a
payment method makes it requires_confirmation (from requires_action without its next_action);
idempotent with a key; bad input and a setup past those states change nothing."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.v1 import customer_pb2, payment_pb2

from tests.customer.support import failure, new_customer
from tests.payment.shop import Shop, good_card

P = payment_pb2


async def _setup(shop: Shop, **fields: Any) -> P.SetupIntent:
    created: P.SetupIntent = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(**fields)
    )
    return created


async def _update(shop: Shop, key: str = "", **fields: Any) -> P.SetupIntent:
    metadata = (("idempotency-key", key),) if key else None
    updated: P.SetupIntent = await shop.client.payments.UpdateSetupIntent(
        P.UpdateSetupIntentRequest(**fields), metadata=metadata
    )
    return updated


async def _get(shop: Shop, setup_id: str) -> P.SetupIntent:
    got: P.SetupIntent = await shop.client.payments.GetSetupIntent(
        P.GetSetupIntentRequest(id=setup_id)
    )
    return got


async def test_an_update_changes_only_the_fields_given_then_the_setup_confirms(
    shop: Shop,
) -> None:
    setup = await _setup(shop, description="first", metadata={"a": "1", "b": "2"})

    updated = await _update(
        shop,
        key="seti-update-1",
        id=setup.id,
        metadata={"a": "", "c": "3"},
        payment_method="pm_card_visa",
    )

    assert updated.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION, updated
    assert updated.description == "first"
    assert dict(updated.metadata) == {"b": "2", "c": "3"}
    assert updated.payment_method.startswith("pm_") and updated.payment_method != "pm_card_visa"
    replayed = await _update(
        shop,
        key="seti-update-1",
        id=setup.id,
        metadata={"a": "", "c": "3"},
        payment_method="pm_card_visa",
    )
    assert replayed == updated  # the same new payment method, not a second one
    assert await _get(shop, setup.id) == updated
    described = await _update(shop, id=setup.id, description="")
    assert described.description == "" and described.payment_method == updated.payment_method

    confirmed = await shop.client.payments.ConfirmSetupIntent(
        P.ConfirmSetupIntentRequest(id=setup.id)
    )
    assert confirmed.status == P.SETUP_INTENT_STATUS_SUCCEEDED
    late = await failure(
        _update(shop, id=setup.id, description="late"), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (late.reason, late.param) == ("SETUP_INTENT_UNEXPECTED_STATE", "id")
    assert (await _get(shop, setup.id)).description == ""


async def test_a_customer_given_by_update_gets_the_card_when_the_setup_succeeds(
    shop: Shop,
) -> None:
    customer = (await new_customer(shop.client)).id
    method = await shop.card(good_card())
    setup = await _setup(shop, payment_method=method)

    updated = await _update(shop, id=setup.id, customer=customer)

    assert updated.customer == customer
    assert updated.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION
    await shop.client.payments.ConfirmSetupIntent(P.ConfirmSetupIntentRequest(id=setup.id))
    found = await shop.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=method)
    )
    assert found.customer == customer


async def test_bad_input_changes_nothing(shop: Shop) -> None:
    owner = (await new_customer(shop.client)).id
    other = (await new_customer(shop.client)).id
    owned = await shop.card(good_card(), customer=owner)
    setup = await _setup(shop, customer=other, metadata={"a": "1"})

    missing = await failure(
        _update(shop, id=setup.id, customer="cus_" + "0" * 22), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (missing.reason, missing.param) == ("RESOURCE_MISSING", "customer")
    long = await failure(
        _update(shop, id=setup.id, description="x" * 1001), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert long.param == "description"
    mismatch = await failure(
        _update(shop, id=setup.id, payment_method=owned, metadata={"a": "2"}),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert (mismatch.reason, mismatch.param) == (
        "PAYMENT_METHOD_CUSTOMER_MISMATCH",
        "payment_method",
    )
    unknown = await failure(
        _update(shop, id="seti_" + "0" * 22, description="x"), grpc.StatusCode.NOT_FOUND
    )
    assert unknown.param == "id"
    assert await _get(shop, setup.id) == setup


async def test_a_new_card_while_authenticating_asks_for_confirmation_again(shop: Shop) -> None:
    asked = await _setup(shop, payment_method="pm_card_authenticationRequired", confirm=True)
    assert asked.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION, asked

    described = await _update(shop, id=asked.id, description="waiting")
    assert described.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION
    assert described.next_action == asked.next_action
    changed = await _update(shop, id=asked.id, payment_method="pm_card_visa")

    assert changed.status == P.SETUP_INTENT_STATUS_REQUIRES_CONFIRMATION, changed
    assert not changed.HasField("next_action")
    confirmed = await shop.client.payments.ConfirmSetupIntent(
        P.ConfirmSetupIntentRequest(id=asked.id)
    )
    assert confirmed.status == P.SETUP_INTENT_STATUS_SUCCEEDED, confirmed
