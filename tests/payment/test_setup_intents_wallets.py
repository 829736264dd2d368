"""A wallet card saved by a SetupIntent: the setup's verification sends the cryptogram to the
PSP and keeps the PSP's network token, so that the card is charged after its cryptogram
expired: a subscription whose trial outlasts the cryptogram's TTL is paid at the trial's end,
and an off-session intent succeeds. Without the setup the same trial ends past_due, declined
invalid_cryptogram, as before; no network token or cryptogram is ever rendered."""

from __future__ import annotations

import pytest
from paycore.config import Settings
from paycore.v1 import payment_pb2, subscription_pb2

from tests.customer.support import new_customer
from tests.helpers import PspSimulator
from tests.payment.shop import fee, open_shop
from tests.payment.wallets import (
    held_cryptogram,
    payin_with_cryptogram_ttl,
    wait_until_cryptogram_expired,
    wallet_card,
    wallet_token,
)
from tests.subscription.support import JAN_31_2026, MONTHLY, Billed, new_price, new_product

TTL_SECONDS = 2  # the cryptogram is read right after the card is made (held_cryptogram)
TRIAL_DAYS = 14
S = subscription_pb2


@pytest.mark.parametrize("saved_by_a_setup", [True, False])
async def test_a_trial_longer_than_the_cryptogram_ttl_is_paid_once_a_setup_saved_the_card(
    migrated: Settings, psp: PspSimulator, saved_by_a_setup: bool
) -> None:
    async with payin_with_cryptogram_ttl(migrated, psp, TTL_SECONDS) as payin:
        shop = await open_shop(payin.admin, payin.target, payin.admin_token, payin.platform)
        try:
            billed = Billed(payin, shop)
            billed.customer = (await new_customer(shop.client)).id
            token = await wallet_token(psp, "google_pay")
            if saved_by_a_setup:
                method = await wallet_card(shop, token)
                held = await held_cryptogram(payin, method.id)
                setup = await shop.client.payments.CreateSetupIntent(
                    payment_pb2.CreateSetupIntentRequest(
                        customer=billed.customer, payment_method=method.id, confirm=True
                    )
                )
                assert setup.status == payment_pb2.SETUP_INTENT_STATUS_SUCCEEDED, setup
            else:
                method = await wallet_card(shop, token, billed.customer)
                held = await held_cryptogram(payin, method.id)
            billed.card = method.id
            product = await new_product(shop.client)
            billed.price = (await new_price(shop.client, product.id, recurring=MONTHLY)).id
            billed.clock = (
                await shop.client.subscriptions.CreateTestClock(
                    S.CreateTestClockRequest(frozen_time=JAN_31_2026)
                )
            ).id
            trialing = await billed.subscribe(trial_period_days=TRIAL_DAYS)
            await wait_until_cryptogram_expired(payin, held)

            await billed.advance(trialing.trial_end)

            after = await billed.subscription(trialing.id)
            _, first = await billed.invoices(trialing.id)
            if saved_by_a_setup:
                assert after.status == S.SUBSCRIPTION_STATUS_ACTIVE, after
                assert (first.status, first.amount_paid) == (S.INVOICE_STATUS_PAID, 1500)
                later = await shop.client.payments.CreatePaymentIntent(
                    payment_pb2.CreatePaymentIntentRequest(
                        amount=700,
                        currency="usd",
                        customer=billed.customer,
                        payment_method=method.id,
                        confirm=True,
                        off_session=True,
                    )
                )
                assert later.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, later
                assert (await shop.balance())[1] == {"usd": 1500 - fee(1500) + 700 - fee(700)}
            else:
                assert after.status == S.SUBSCRIPTION_STATUS_PAST_DUE, after
                assert first.status == S.INVOICE_STATUS_OPEN
                intent = await shop.client.payments.GetPaymentIntent(
                    payment_pb2.GetPaymentIntentRequest(id=first.payment_intent)
                )
                assert intent.last_payment_error.decline_code == "invalid_cryptogram"
                assert (await shop.balance())[1] == {"usd": 0}
            assert "ntok_" not in str(method) + str(after) + str(first)
            await shop.assert_books_balance()
        finally:
            await shop.close()
