"""`stripe.PaymentMethod.retrieve("pm_card_visa")`: Stripe's test payment methods, which
confirm and attach already take, read as the card each stands for."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread


async def test_test_payment_methods_are_retrieved_as_their_cards(
    edge_merchant: EdgeMerchant,
) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        visa = sdk.v1.payment_methods.retrieve("pm_card_visa")
        assert isinstance(visa, stripe.PaymentMethod)
        assert (visa.id, visa.type, visa.customer) == ("pm_card_visa", "card", None)
        assert visa.card is not None
        assert (visa.card.brand, visa.card.last4, visa.card.exp_month) == ("visa", "4242", 12)
        mastercard = sdk.v1.payment_methods.retrieve("pm_card_mastercard")
        assert mastercard.card is not None
        assert (mastercard.card.brand, mastercard.card.last4) == ("mastercard", "4444")
        declined = sdk.v1.payment_methods.retrieve("pm_card_chargeDeclined")
        assert declined.card is not None and declined.card.last4 == "0002"
        # The retrieved name pays as the name does.
        intent = sdk.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": visa.id, "confirm": True}
        )
        assert intent.status == "succeeded"
        with pytest.raises(stripe.InvalidRequestError) as unknown:
            sdk.v1.payment_methods.retrieve("pm_card_noSuchCard")
        assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")

    await in_thread(scenario)
