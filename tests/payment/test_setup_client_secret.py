"""A SetupIntent confirmed in the browser as Stripe.js's confirmCardSetup does: the publishable
key and the setup's client_secret (ConfirmSetupIntent, GetSetupIntent), through 3-D Secure;
without the secret, or with another's, nothing is read or changed; the buyer's answer has no
customer and no metadata. Creating, listing and canceling stay the merchant's (secret key)."""

from __future__ import annotations

import grpc
from paycore.client import connect
from paycore.v1 import payment_pb2

from tests.customer.support import failure, new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import PayIn, Shop

P = payment_pb2
RETURN_URL = "https://shop.example/setup/back"


async def test_the_browser_confirms_a_setup_with_its_client_secret_through_3ds(
    payin: PayIn, shop: Shop, psp: PspSimulator
) -> None:
    customer = (await new_customer(shop.client)).id
    setup = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(customer=customer, metadata={"order": "42"})
    )
    other = await shop.client.payments.CreateSetupIntent(
        P.CreateSetupIntentRequest(customer=customer)
    )

    async with connect(payin.target, shop.merchant.publishable_key) as browser:
        payments = browser.payments
        missing = await failure(
            payments.GetSetupIntent(P.GetSetupIntentRequest(id=setup.id)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert missing.param == "client_secret"
        wrong = await failure(
            payments.ConfirmSetupIntent(
                P.ConfirmSetupIntentRequest(
                    id=setup.id,
                    client_secret=other.client_secret,
                    payment_method="pm_card_visa",
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert wrong.param == "client_secret"
        unchanged = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=setup.id))
        assert unchanged.status == P.SETUP_INTENT_STATUS_REQUIRES_PAYMENT_METHOD

        asked = await payments.ConfirmSetupIntent(
            P.ConfirmSetupIntentRequest(
                id=setup.id,
                client_secret=setup.client_secret,
                payment_method="pm_card_authenticationRequiredOnSetup",
                return_url=RETURN_URL,
            )
        )
        assert asked.status == P.SETUP_INTENT_STATUS_REQUIRES_ACTION, asked
        assert asked.next_action.redirect_to_url.return_url == RETURN_URL
        assert (asked.customer, dict(asked.metadata)) == ("", {})  # trimmed for the buyer
        assert asked.client_secret == setup.client_secret

        await psp.authenticate(asked.next_action.redirect_to_url.url, "complete")
        done = await payments.ConfirmSetupIntent(
            P.ConfirmSetupIntentRequest(id=setup.id, client_secret=setup.client_secret)
        )
        assert done.status == P.SETUP_INTENT_STATUS_SUCCEEDED, done
        read = await payments.GetSetupIntent(
            P.GetSetupIntentRequest(id=setup.id, client_secret=setup.client_secret)
        )
        assert read.status == P.SETUP_INTENT_STATUS_SUCCEEDED
        assert (read.customer, dict(read.metadata)) == ("", {})

        # Still the merchant's alone: creating, listing, canceling.
        await failure(
            payments.CreateSetupIntent(P.CreateSetupIntentRequest(customer=customer)),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        await failure(
            payments.CancelSetupIntent(P.CancelSetupIntentRequest(id=other.id)),
            grpc.StatusCode.PERMISSION_DENIED,
        )

    merchant_view = await shop.client.payments.GetSetupIntent(P.GetSetupIntentRequest(id=setup.id))
    assert (merchant_view.customer, dict(merchant_view.metadata)) == (customer, {"order": "42"})
    assert merchant_view.payment_method == done.payment_method
