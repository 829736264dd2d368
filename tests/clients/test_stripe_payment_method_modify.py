"""stripe-python's `PaymentMethod.modify` against the edge, as Stripe's docs write it: billing
details and metadata change, the rest is kept; a past expiry is `expired_card` naming the
field (402 card_error, as Stripe and CreatePaymentMethod answer one: the SDK's CardError) and
changes nothing."""

from __future__ import annotations

import pytest
import stripe
from stripe.params import PaymentMethodCreateParamsCard

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

        with pytest.raises(stripe.CardError) as refused:  # 402, as a create's
            sdk.v1.payment_methods.update(method.id, params={"card": {"exp_year": 2020}})
        assert (refused.value.code, refused.value.param) == ("expired_card", "card[exp_year]")
        assert refused.value.http_status == 402
        read = sdk.v1.payment_methods.retrieve(method.id)
        assert read.to_dict()["card"]["exp_year"] == 2034

    await in_thread(scenario)


async def test_a_card_that_is_not_valid_raises_card_error(edge_merchant: EdgeMerchant) -> None:
    """Stripe answers a card number, expiry or cvc it refuses as a 402 card_error, which
    stripe-python raises as CardError (it picks the class by the status: a 400 card_error
    was an InvalidRequestError there, a StripeCardError in stripe-node)."""

    def scenario() -> None:
        sdk = client(edge_merchant)
        refusals: list[tuple[PaymentMethodCreateParamsCard, str]] = [
            ({"number": "4242424242424241", "exp_month": 12, "exp_year": 2034}, "invalid_number"),
            (
                {"number": "4242424242424242", "exp_month": 13, "exp_year": 2034},
                "invalid_expiry_month",
            ),
            ({"number": "4242424242424242", "exp_month": 1, "exp_year": 2020}, "expired_card"),
            (
                {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "12"},
                "invalid_cvc",
            ),
        ]
        for card_given, code in refusals:
            with pytest.raises(stripe.CardError) as refused:
                sdk.v1.payment_methods.create(params={"type": "card", "card": card_given})
            assert (refused.value.http_status, refused.value.code) == (402, code)
            assert refused.value.param is not None and refused.value.param.startswith("card[")

    await in_thread(scenario)
