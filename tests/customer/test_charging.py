"""The in-process interface the payment flow calls: card_for_charge and require_customer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from paycore.app import Platform
from paycore.customer.models import BillingDetails, CardInput
from paycore.customer.vault import VaultError
from paycore.errors import ApiError, Reason, Status
from paycore.secret import Secret
from paycore.storage.schema import payment_methods
from paycore.v1 import customer_pb2
from sqlalchemy import select, update

from tests.customer.support import AMEX, VISA, new_card, new_customer
from tests.helpers import MerchantFixture


async def test_card_for_charge_opens_the_vault_for_the_owner_only(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    customer = await new_customer(merchant.client)
    created = await new_card(merchant.client, AMEX)
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=created.id, customer=customer.id)
    )
    card = await platform.customers.card_for_charge(merchant.merchant.id, created.id)
    assert card.number.reveal() == AMEX
    assert AMEX not in repr(card) and AMEX not in str(card)
    assert (card.payment_method_id, card.customer_id) == (created.id, customer.id)
    assert (card.brand, card.last4, card.country) == ("amex", "0005", "US")
    assert (card.exp_month, card.exp_year) == (created.card.exp_month, created.card.exp_year)
    assert card.fingerprint == created.card.fingerprint
    loose = await new_card(merchant.client)
    assert (
        await platform.customers.card_for_charge(merchant.merchant.id, loose.id)
    ).customer_id is None
    with pytest.raises(ApiError) as raised:
        await platform.customers.card_for_charge(other_merchant.merchant.id, created.id)
    assert (raised.value.status, raised.value.param) == (Status.NOT_FOUND, "payment_method")


async def test_a_detached_card_cannot_be_charged(
    platform: Platform, merchant: MerchantFixture
) -> None:
    customer = await new_customer(merchant.client)
    created = await new_card(merchant.client)
    await merchant.client.customers.AttachPaymentMethod(
        customer_pb2.AttachPaymentMethodRequest(id=created.id, customer=customer.id)
    )
    await merchant.client.customers.DetachPaymentMethod(
        customer_pb2.DetachPaymentMethodRequest(id=created.id)
    )
    with pytest.raises(ApiError) as raised:
        await platform.customers.card_for_charge(merchant.merchant.id, created.id)
    assert raised.value.reason is Reason.PAYMENT_METHOD_DETACHED
    assert raised.value.param == "payment_method"


async def test_require_customer_names_the_param(
    platform: Platform, merchant: MerchantFixture, other_merchant: MerchantFixture
) -> None:
    customer = await new_customer(merchant.client, email="known@example.com")
    found = await platform.customers.require_customer(merchant.merchant.id, customer.id)
    assert (found.id, found.email, found.merchant_id) == (
        customer.id,
        "known@example.com",
        merchant.merchant.id,
    )
    with pytest.raises(ApiError) as raised:
        await platform.customers.require_customer(
            other_merchant.merchant.id, customer.id, param="buyer.customer"
        )
    assert (raised.value.status, raised.value.param) == (Status.NOT_FOUND, "buyer.customer")
    async with platform.shards.transaction(merchant.merchant.id) as connection:
        inside = await platform.customers.require_customer(
            merchant.merchant.id, customer.id, connection=connection
        )
        assert inside == found


async def test_an_expired_stored_card_is_still_handed_over_with_its_expiry(
    platform: Platform, merchant: MerchantFixture
) -> None:
    """Tokenized when it was valid; the PSP, not card_for_charge, declines it now."""
    back_then = replace(platform.customers, _clock=lambda: datetime(2020, 6, 1, tzinfo=UTC))
    checked = back_then.check_card(CardInput(Secret(VISA), 3, 2021, Secret("123")))
    async with platform.shards.transaction(merchant.merchant.id) as connection:
        stored = await back_then.create_payment_method(
            connection, merchant.merchant.id, checked, BillingDetails(), {}
        )
    card = await platform.customers.card_for_charge(merchant.merchant.id, stored.id)
    assert (card.exp_month, card.exp_year) == (3, 2021)
    assert card.number.reveal() == VISA
    shown = await merchant.client.customers.GetPaymentMethod(
        customer_pb2.GetPaymentMethodRequest(id=stored.id)
    )
    assert (shown.card.exp_month, shown.card.exp_year) == (3, 2021)
    with pytest.raises(ApiError) as raised:
        platform.customers.check_card(CardInput(Secret(VISA), 3, 2021, Secret("123")))
    assert raised.value.reason is Reason.EXPIRED_CARD


async def test_a_sealed_number_moved_to_another_row_does_not_open(
    platform: Platform, merchant: MerchantFixture
) -> None:
    first, second = await new_card(merchant.client), await new_card(merchant.client, AMEX)
    merchant_id = merchant.merchant.id
    async with platform.shards.transaction(merchant_id) as connection:
        sealed = (
            await connection.execute(
                select(payment_methods.c.number_sealed).where(
                    payment_methods.c.merchant_id == merchant_id,
                    payment_methods.c.id == first.id,
                )
            )
        ).scalar_one()
        assert VISA.encode() not in sealed
        await connection.execute(
            update(payment_methods)
            .where(payment_methods.c.merchant_id == merchant_id, payment_methods.c.id == second.id)
            .values(number_sealed=sealed)
        )
    with pytest.raises(VaultError):
        await platform.customers.card_for_charge(merchant_id, second.id)
    assert (await platform.customers.card_for_charge(merchant_id, first.id)).number.reveal() == VISA
