"""UpdatePaymentMethod (Stripe's PaymentMethod.modify): the fields present change, the rest is
kept; a bad field is refused naming it and changes nothing; `payment_method.updated` is
recorded in the change's transaction; another merchant's card is not found."""

from __future__ import annotations

import grpc
from paycore.client import idempotency_key
from paycore.v1 import customer_pb2, event_pb2

from tests.customer.support import EXP_YEAR, failure, new_card, new_customer
from tests.helpers import MerchantFixture

Update = customer_pb2.UpdatePaymentMethodRequest


async def _updated_events(merchant: MerchantFixture) -> list[str]:
    listed = await merchant.client.events.ListEvents(
        event_pb2.ListEventsRequest(type="payment_method.updated", limit=100)
    )
    found = []
    for event in listed.data:
        method = customer_pb2.PaymentMethod()
        assert event.data.object.Unpack(method)
        found.append(f"{method.id} {method.billing_details.name} {method.card.exp_year}")
    return found


async def test_billing_details_metadata_and_expiry_change_what_is_present(
    merchant: MerchantFixture,
) -> None:
    card = await new_card(
        merchant.client,
        billing_details=customer_pb2.BillingDetails(
            name="Ada", email="ada@example.test", phone="+1 555 0100"
        ),
        metadata={"a": "1", "b": "2"},
    )
    updated = await merchant.client.customers.UpdatePaymentMethod(
        Update(
            id=card.id,
            billing_details=Update.BillingDetails(
                name="Ada Lovelace", address=customer_pb2.Address(city="London", country="GB")
            ),
            card=Update.Card(exp_year=EXP_YEAR + 1),
            metadata={"a": "", "c": "3"},
        ),
        metadata=idempotency_key("pm-update-1"),
    )
    assert updated.billing_details.name == "Ada Lovelace"
    assert updated.billing_details.email == "ada@example.test"  # absent: kept
    assert updated.billing_details.phone == "+1 555 0100"
    assert (updated.billing_details.address.city, updated.billing_details.address.country) == (
        "London",
        "GB",
    )
    assert (updated.card.exp_month, updated.card.exp_year) == (12, EXP_YEAR + 1)
    assert (updated.card.last4, updated.card.fingerprint) == (
        card.card.last4,
        card.card.fingerprint,
    )
    assert dict(updated.metadata) == {"b": "2", "c": "3"}
    read = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=card.id)
    )
    assert read == updated
    assert await _updated_events(merchant) == [f"{card.id} Ada Lovelace {EXP_YEAR + 1}"]

    cleared = await merchant.client.customers.UpdatePaymentMethod(
        Update(id=card.id, clear_metadata=True, billing_details=Update.BillingDetails(email=""))
    )
    assert dict(cleared.metadata) == {}
    assert cleared.billing_details.email == ""
    assert cleared.billing_details.name == "Ada Lovelace"

    # An update that changes nothing records no event (as UpdateCustomer).
    await merchant.client.customers.UpdatePaymentMethod(Update(id=card.id))
    assert len(await _updated_events(merchant)) == 2


async def test_bad_fields_are_refused_by_name_and_change_nothing(
    merchant: MerchantFixture,
) -> None:
    card = await new_card(merchant.client, metadata={"a": "1"})
    refusals = [
        (Update.Card(exp_month=13), "INVALID_EXPIRY_MONTH", "card.exp_month"),
        (Update.Card(exp_year=2001), "EXPIRED_CARD", "card.exp_year"),
        (Update.Card(exp_month=0), "INVALID_EXPIRY_MONTH", "card.exp_month"),
        (Update.Card(exp_year=99), "INVALID_EXPIRY_YEAR", "card.exp_year"),
    ]
    for wrong, reason, param in refusals:
        error = await failure(
            merchant.client.customers.UpdatePaymentMethod(
                Update(id=card.id, card=wrong, metadata={"b": "2"})
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert (error.reason, error.param) == (reason, param), error
    error = await failure(
        merchant.client.customers.UpdatePaymentMethod(
            Update(id=card.id, billing_details=Update.BillingDetails(email="not an email"))
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "billing_details.email"
    error = await failure(
        merchant.client.customers.UpdatePaymentMethod(
            Update(id=card.id, billing_details=Update.BillingDetails(name="x" * 300))
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.param == "billing_details.name"
    read = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=card.id)
    )
    assert read == card
    assert await _updated_events(merchant) == []


async def test_only_the_merchants_own_and_not_a_detached_one(
    merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    card = await new_card(merchant.client)
    error = await failure(
        other_merchant.client.customers.UpdatePaymentMethod(
            Update(id=card.id, metadata={"x": "1"})
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (error.reason, error.param) == ("RESOURCE_MISSING", "id")
    customer = await new_customer(merchant.client)
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=card.id, customer=customer.id)
    )
    await merchant.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=card.id)
    )
    error = await failure(
        merchant.client.customers.UpdatePaymentMethod(Update(id=card.id, metadata={"x": "1"})),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert (error.reason, error.param) == ("PAYMENT_METHOD_DETACHED", "id")
