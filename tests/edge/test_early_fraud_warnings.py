"""stripe-python's early fraud warnings (`GET /v1/radar/early_fraud_warnings`, with its
`payment_intent` and `charge` filters, and `/{id}`) against an edge on the pay-in server: a
charge of Stripe's test card 4000000000005423 is warned of once the warnings feed is read."""

from __future__ import annotations

import asyncio

import stripe
from paycore.tools.psp import cards

from tests.edge.helpers import stripe_client
from tests.fraud.test_early_fraud_warnings import read_warnings
from tests.payment.shop import PayIn


async def test_early_fraud_warnings_read_with_the_stripe_sdk(payin: PayIn) -> None:
    async with stripe_client(payin, "Warned shop", "warned@shop.test") as sdk:

        def pay() -> stripe.PaymentIntent:
            method = sdk.v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": cards.CARD_EARLY_FRAUD_WARNING,
                        "exp_month": 12,
                        "exp_year": 2034,
                    },
                }
            )
            return sdk.v1.payment_intents.create(
                params={
                    "amount": 4200,
                    "currency": "usd",
                    "payment_method": method.id,
                    "confirm": True,
                }
            )

        intent = await asyncio.to_thread(pay)
        assert intent.status == "succeeded"
        await read_warnings(payin)

        def read() -> None:
            warnings = sdk.v1.radar.early_fraud_warnings
            listed = warnings.list(params={"payment_intent": intent.id})
            assert len(listed.data) == 1
            warning = listed.data[0]
            assert isinstance(warning, stripe.radar.EarlyFraudWarning)
            assert (warning.object, warning.charge, warning.payment_intent) == (
                "radar.early_fraud_warning",
                intent.latest_charge,
                intent.id,
            )
            assert (warning.actionable, warning.fraud_type) == (True, "made_with_stolen_card")
            assert warnings.retrieve(warning.id).to_dict() == warning.to_dict()
            charge = str(intent.latest_charge)
            of_charge = warnings.list(params={"charge": charge})
            assert [found.id for found in of_charge.data] == [warning.id]
            try:
                warnings.retrieve("issfr_nope")
            except stripe.InvalidRequestError as error:
                assert error.param == "id"
            else:
                raise AssertionError("a malformed id was read")

        await asyncio.to_thread(read)
