"""A payment's card in the dashboard: its page names the card (brand and last four) beside the
payment method's id, and for an Apple Pay or Google Pay token the wallet and the device
account number's last four (`dynamic_last4`), which is what the buyer's bank statement and a
dispute of it show, not a card number the merchant ever saw."""

from __future__ import annotations

import pytest
from paycore.v1 import account_pb2, payment_pb2
from playwright.async_api import Browser, expect

from tests.helpers import PspSimulator
from tests.payment.shop import good_card
from tests.payment.wallets import wallet_card, wallet_token
from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_dashboard import sign_in

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("wallet", "name"), [("apple_pay", "Apple Pay"), ("google_pay", "Google Pay")]
)
async def test_a_payment_page_names_its_card_and_wallet(
    storefront: Storefront, browser: Browser, psp: PspSimulator, wallet: str, name: str
) -> None:
    shop = storefront.shop
    token = await wallet_token(psp, wallet)
    method = await wallet_card(shop, token)
    paid = await shop.client.payments.CreatePaymentIntent(
        payment_pb2.CreatePaymentIntentRequest(
            amount=2500, currency="usd", payment_method=method.id, confirm=True
        )
    )
    assert paid.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED, paid
    number = good_card()
    plain = await shop.pay(number, 1200)
    context = await browser.new_context()
    page = await sign_in(context, storefront, storefront.secret_key)
    await expect(page).to_have_url(f"{storefront.edge_url}/dashboard/payments")

    await page.goto(f"{storefront.edge_url}/dashboard/payments/{paid.id}")
    shown = page.get_by_test_id("payment-method")
    await expect(shown).to_contain_text(method.id)
    await expect(shown).to_contain_text(f"visa •••• {token['last4']}")
    await expect(shown).to_contain_text(name)
    await page.screenshot(path=screenshot_path(f"dashboard-payment-{wallet}"), full_page=True)

    await page.goto(f"{storefront.edge_url}/dashboard/payments/{plain.id}")
    await expect(shown).to_contain_text(f"visa •••• {number[-4:]}")
    await expect(shown).not_to_contain_text("Pay")
    await context.close()

    # A restricted key that may not read payment methods (nor disputes) sees the rest.
    restricted = await shop.client.accounts.CreateApiKey(
        account_pb2.CreateApiKeyRequest(
            name="payments only",
            scopes=["payment_intents:read", "refunds:read", "events:read"],
        )
    )
    context = await browser.new_context()
    page = await sign_in(context, storefront, restricted.secret)
    await expect(page).to_have_url(f"{storefront.edge_url}/dashboard/payments")
    await page.goto(f"{storefront.edge_url}/dashboard/payments/{paid.id}")
    await expect(page.get_by_test_id("payment-method")).to_have_text(method.id)
    await expect(page.get_by_test_id("timeline")).to_contain_text("payment_intent.succeeded")
    await context.close()
