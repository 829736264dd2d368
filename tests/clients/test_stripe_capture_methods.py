"""Stripe's `capture_method` values as stripe-python sends them. `automatic_async`, Stripe's
default since 2024 (what its current guides and typed SDKs pass), was refused
(`parameter_invalid` naming `capture_method`, found by a black-box probe through the SDK): it
captures at once, as `automatic`, and is shown as given."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import client, in_thread


async def test_automatic_async_captures_at_once(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        intent = sdk.v1.payment_intents.create(
            params={
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "capture_method": "automatic_async",
                "confirm": True,
            }
        )
        assert (intent.status, intent.capture_method) == ("succeeded", "automatic_async")
        assert (intent.amount_received, intent.amount_capturable) == (2000, 0)
        charge = sdk.v1.charges.retrieve(str(intent.latest_charge))
        assert (charge.captured, charge.amount_captured) == (True, 2000)

        later = sdk.v1.payment_intents.create(params={"amount": 1500, "currency": "usd"})
        assert later.capture_method == "automatic"  # the default, as before
        changed = sdk.v1.payment_intents.update(
            str(later.id), params={"capture_method": "automatic_async"}
        )
        assert changed.capture_method == "automatic_async"
        confirmed = sdk.v1.payment_intents.confirm(
            str(later.id), params={"payment_method": "pm_card_visa"}
        )
        assert (confirmed.status, confirmed.amount_received) == ("succeeded", 1500)

        held = sdk.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
                "confirm": True,
            }
        )
        assert (held.status, held.amount_capturable) == ("requires_capture", 700)
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.payment_intents.create(
                params={"amount": 700, "currency": "usd", "capture_method": "later"}
            )
        assert (refused.value.code, refused.value.param) == ("parameter_invalid", "capture_method")
        assert "automatic_async" in str(refused.value.user_message)

    await in_thread(scenario)
