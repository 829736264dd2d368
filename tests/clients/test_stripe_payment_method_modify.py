"""stripe-python's `PaymentMethod.modify` against the edge, as Stripe's docs write it: billing
details and metadata change, the rest is kept; a past expiry is `expired_card` naming the
field (400, as CreatePaymentMethod answers one) and changes nothing."""

from __future__ import annotations

import pytest
import stripe

from tests.clients.conftest import EdgeMerchant
from tests.clients.test_stripe_python import card, client, in_thread


async def test_a_payment_method_modified(edge_merchant: EdgeMerchant) -> None:
    def scenario() -> None:
        sdk = client(edge_merchant)
        method = card(sdk, "4242424242424242")
        modified = sdk.v1.payment_methods.update(
            method.id,
            params={
                "billing_details": {"name": "Jenny Rosen", "address": {"postal_code": "94111"}},
                "card": {"exp_month": 8, "exp_year": 2034},
                "metadata": {"order_id": "6735"},
            },
        )
        shown = modified.to_dict()
        assert shown["billing_details"]["name"] == "Jenny Rosen"
        assert shown["billing_details"]["address"]["postal_code"] == "94111"
        assert (shown["card"]["exp_month"], shown["card"]["exp_year"]) == (8, 2034)
        assert shown["metadata"] == {"order_id": "6735"}

        with pytest.raises(stripe.InvalidRequestError) as refused:  # 400, as a create's
            sdk.v1.payment_methods.update(method.id, params={"card": {"exp_year": 2020}})
        assert (refused.value.code, refused.value.param) == ("expired_card", "card[exp_year]")
        read = sdk.v1.payment_methods.retrieve(method.id)
        assert read.to_dict()["card"]["exp_year"] == 2034

    await in_thread(scenario)
