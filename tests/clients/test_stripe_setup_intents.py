"""stripe-python's SetupIntents as Stripe's "save payment details" guide writes them:
`SetupIntent.create(customer=..., automatic_payment_methods={"enabled": True})`, confirmed
later; confirming at once with automatic payment methods asks for a return_url (as
Stripe's) unless redirects are never allowed."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread


async def test_a_setup_with_automatic_payment_methods(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        customer = sdk.v1.customers.create(params={"email": "save@setup.test"})
        setup = sdk.v1.setup_intents.create(
            params={"customer": customer.id, "automatic_payment_methods": {"enabled": True}}
        )
        assert setup.status == "requires_payment_method"
        confirmed = sdk.v1.setup_intents.confirm(
            setup.id, params={"payment_method": "pm_card_visa"}
        )
        assert confirmed.status == "succeeded"

        never = sdk.v1.setup_intents.create(
            params={
                "customer": customer.id,
                "payment_method": "pm_card_visa",
                "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )
        assert never.status == "succeeded"
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.setup_intents.create(
                params={
                    "customer": customer.id,
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                    "automatic_payment_methods": {"enabled": True},
                }
            )
        assert (refused.value.http_status, refused.value.param) == (400, "return_url")

    await in_thread(scenario)
