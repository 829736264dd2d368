"""UpdateCharge (Stripe's `POST /v1/charges/{id}`): a charge's description, metadata,
receipt_email and shipping, stored as the charge's own (its intent keeps its own), rendered by
GetCharge and ListCharges, recorded as charge.updated; idempotent with a key; bad input changes
nothing."""

from __future__ import annotations

from typing import Any

import grpc
from paycore.v1 import customer_pb2, event_pb2, payment_pb2

from tests.customer.support import failure
from tests.payment.shop import Shop, good_card

P = payment_pb2


async def _update(shop: Shop, key: str = "", **fields: Any) -> P.Charge:
    metadata = (("idempotency-key", key),) if key else None
    updated: P.Charge = await shop.client.payments.UpdateCharge(
        P.UpdateChargeRequest(**fields), metadata=metadata
    )
    return updated


async def _get(shop: Shop, charge_id: str) -> P.Charge:
    got: P.Charge = await shop.client.payments.GetCharge(P.GetChargeRequest(id=charge_id))
    return got


async def _paid(shop: Shop, **fields: Any) -> P.PaymentIntent:
    paid: P.PaymentIntent = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=1500,
            currency="usd",
            payment_method=await shop.card(good_card()),
            confirm=True,
            **fields,
        )
    )
    return paid


async def test_an_update_changes_the_charge_not_its_intent(shop: Shop) -> None:
    intent = await _paid(shop, description="Order 7", metadata={"order": "7", "gift": "no"})
    charge_id = intent.latest_charge
    before = await _get(shop, charge_id)
    assert (before.description, dict(before.metadata)) == ("Order 7", {"order": "7", "gift": "no"})
    assert before.receipt_email == ""

    updated = await _update(
        shop,
        key="ch-update-1",
        id=charge_id,
        description="Order 7, shipped",
        metadata={"gift": "", "tracking": "1Z999"},
        receipt_email="ada@example.com",
    )

    assert updated.description == "Order 7, shipped"
    assert dict(updated.metadata) == {"order": "7", "tracking": "1Z999"}
    assert updated.receipt_email == "ada@example.com"
    assert (updated.amount, updated.status, updated.paid) == (1500, P.CHARGE_STATUS_SUCCEEDED, True)
    assert (
        await _update(
            shop,
            key="ch-update-1",
            id=charge_id,
            description="Order 7, shipped",
            metadata={"gift": "", "tracking": "1Z999"},
            receipt_email="ada@example.com",
        )
        == updated
    )
    assert await _get(shop, charge_id) == updated
    listed = await shop.client.payments.ListCharges(P.ListChargesRequest(payment_intent=intent.id))
    assert list(listed.data) == [updated]
    got = await shop.client.payments.GetPaymentIntent(P.GetPaymentIntentRequest(id=intent.id))
    assert (got.description, dict(got.metadata)) == ("Order 7", {"order": "7", "gift": "no"})

    # Only what is given changes; "" clears; clear_metadata empties.
    emailed = await _update(shop, id=charge_id, receipt_email="")
    assert emailed.receipt_email == "" and emailed.description == "Order 7, shipped"
    cleared = await _update(shop, id=charge_id, clear_metadata=True)
    assert dict(cleared.metadata) == {} and cleared.description == "Order 7, shipped"
    events = await shop.client.events.ListEvents(
        event_pb2.ListEventsRequest(object_id=charge_id, limit=100)
    )
    assert [event.type for event in events.data].count("charge.updated") == 3
    await shop.assert_books_balance()


async def test_a_declined_charge_updates_too(shop: Shop) -> None:
    declined = await shop.client.payments.CreatePaymentIntent(
        P.CreatePaymentIntentRequest(
            amount=1500, currency="usd", payment_method="pm_card_chargeDeclined", confirm=True
        )
    )
    listed = await shop.client.payments.ListCharges(
        P.ListChargesRequest(payment_intent=declined.id)
    )
    [charge] = listed.data
    assert charge.status == P.CHARGE_STATUS_FAILED

    updated = await _update(shop, id=charge.id, metadata={"reason": "retry later"})

    assert dict(updated.metadata) == {"reason": "retry later"}
    assert updated.status == P.CHARGE_STATUS_FAILED


async def test_bad_input_changes_nothing(shop: Shop) -> None:
    intent = await _paid(shop, metadata={"order": "8"})
    before = await _get(shop, intent.latest_charge)

    email = await failure(
        _update(shop, id=intent.latest_charge, receipt_email="not-an-email", description="x"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert email.param == "receipt_email"
    long = await failure(
        _update(shop, id=intent.latest_charge, description="x" * 1001),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert long.param == "description"
    malformed = await failure(_update(shop, id="pi_123"), grpc.StatusCode.INVALID_ARGUMENT)
    assert malformed.param == "id"
    missing = await failure(
        _update(shop, id="ch_doesnotexist", description="x"), grpc.StatusCode.NOT_FOUND
    )
    assert missing.param == "id"
    assert await _get(shop, intent.latest_charge) == before


async def test_shipping_is_set_and_replaced(shop: Shop) -> None:
    intent = await _paid(shop)
    shipping = P.Shipping(
        name="Ada Lovelace",
        phone="+15555550100",
        carrier="UPS",
        tracking_number="1Z999",
        address=customer_pb2.Address(
            line1="1 Main St", city="Springfield", postal_code="12345", country="us"
        ),
    )
    assert not (await _get(shop, intent.latest_charge)).HasField("shipping")

    shipped = await _update(shop, id=intent.latest_charge, shipping=shipping)

    assert shipped.shipping.name == "Ada Lovelace"
    assert (shipped.shipping.carrier, shipped.shipping.tracking_number) == ("UPS", "1Z999")
    assert shipped.shipping.address.country == "US"
    assert shipped.shipping.address.line1 == "1 Main St"
    assert (await _get(shop, intent.latest_charge)).shipping == shipped.shipping
    described = await _update(shop, id=intent.latest_charge, description="later")
    assert described.shipping == shipped.shipping

    for bad, param in (
        (P.Shipping(address=shipping.address), "shipping.name"),
        (P.Shipping(name="Ada"), "shipping.address.line1"),
        (
            P.Shipping(name="Ada", address=customer_pb2.Address(line1="x", country="ZZ")),
            "shipping.address.country",
        ),
    ):
        refused = await failure(
            _update(shop, id=intent.latest_charge, shipping=bad, description="no"),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert refused.param == param
    assert await _get(shop, intent.latest_charge) == described
