"""A payment intent's `receipt_email` (Stripe's): taken on create, update and confirm, rendered
on the intent ("" none) and carried by its charges as their receipt_email until UpdateCharge
sets the charge's own; a malformed address names `receipt_email` and changes nothing."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.v1 import payment_pb2

from tests.customer.support import failure
from tests.payment.shop import Shop, good_card

P = payment_pb2


async def _charge(shop: Shop, intent: P.PaymentIntent) -> P.Charge:
    charge: P.Charge = await shop.client.payments.GetCharge(
        P.GetChargeRequest(id=intent.latest_charge)
    )
    return charge


async def _create(shop: Shop, **fields: Any) -> P.PaymentIntent:
    created: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(amount=1500, currency="usd", **fields)
    )
    return await shop.settled(created)


async def test_create_renders_it_and_the_charge_carries_it(shop: Shop) -> None:
    paid = await _create(
        shop, payment_method=await shop.card(good_card()), confirm=True, receipt_email="a@b.co"
    )

    assert paid.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert paid.receipt_email == "a@b.co"
    assert (await _charge(shop, paid)).receipt_email == "a@b.co"
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=paid.id))
    assert got.receipt_email == "a@b.co"
    # The charge's own (UpdateCharge) wins over its intent's; the intent keeps its own.
    own = await shop.client.payments.UpdateCharge(
        P.UpdateChargeRequest(id=paid.latest_charge, receipt_email="c@d.co")
    )
    assert own.receipt_email == "c@d.co"
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=paid.id))
    assert got.receipt_email == "a@b.co"
    none = await _create(shop)
    assert none.receipt_email == ""
    await shop.assert_books_balance()


async def test_update_and_confirm_set_it_for_the_charge_and_empty_clears(shop: Shop) -> None:
    created = await _create(shop)
    updated = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=created.id, receipt_email="ada@example.com")
    )
    assert updated.receipt_email == "ada@example.com"
    kept = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=created.id, description="absent: unchanged")
    )
    assert kept.receipt_email == "ada@example.com"
    cleared = await shop.client.payments.UpdatePaymentIntent(
        P.UpdatePaymentIntentRequest(id=created.id, receipt_email="")
    )
    assert cleared.receipt_email == ""

    confirmed = await shop.client.payments.ConfirmPaymentIntent(
        P.ConfirmPaymentIntentRequest(
            id=created.id,
            payment_method=await shop.card(good_card()),
            receipt_email="grace@example.com",
        )
    )

    assert confirmed.status == P.PAYMENT_INTENT_STATUS_SUCCEEDED
    assert confirmed.receipt_email == "grace@example.com"
    assert (await _charge(shop, confirmed)).receipt_email == "grace@example.com"
    await shop.assert_books_balance()


async def test_a_malformed_address_names_it_and_changes_nothing(shop: Shop) -> None:
    created = await _create(shop, receipt_email="ada@example.com")

    refused = await failure(_create(shop, receipt_email="nobody"), grpc.StatusCode.INVALID_ARGUMENT)
    assert refused.param == "receipt_email"
    update = P.UpdatePaymentIntentRequest(id=created.id, receipt_email="nobody", description="x")
    refused = await failure(
        shop.client.payments.UpdatePaymentIntent(update), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert refused.param == "receipt_email"
    confirm = P.ConfirmPaymentIntentRequest(
        id=created.id, payment_method=await shop.card(good_card()), receipt_email="no@"
    )
    refused = await failure(
        shop.client.payments.ConfirmPaymentIntent(confirm), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert refused.param == "receipt_email"

    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=created.id))
    assert (got.receipt_email, got.description) == ("ada@example.com", "")
    assert got.status == P.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
