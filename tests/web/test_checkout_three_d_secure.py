"""The hosted payment page with a card that must authenticate (3-D Secure), in Chromium: the
page sends the buyer to the card's authentication page (the PSP simulator's), which sends them
back to the checkout page; the page confirms the intent again and reaches the success page,
charged once. A failed authentication is told under the form, and another card pays."""

from __future__ import annotations

import pytest
from paycore.tools.psp import cards
from paycore.v1 import checkout_pb2, payment_pb2
from playwright.async_api import Browser, expect

from tests.helpers import PspSimulator
from tests.payment.shop import good_card
from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_checkout_page import new_session, type_card

pytestmark = pytest.mark.timeout(120)


async def test_a_card_that_must_authenticate_goes_to_its_bank_and_comes_back_paid(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    charges_before = psp.count("charges")
    session = await new_session(storefront)
    page = await browser.new_page()
    await page.goto(session.url)
    await type_card(page, cards.CARD_AUTHENTICATION_ALWAYS)
    await page.keyboard.press("Enter")

    await page.wait_for_url(f"{psp.url}/authenticate/auth_*")
    await page.screenshot(path=screenshot_path("checkout-3ds-authenticate"), full_page=True)
    await page.get_by_role("button", name="Complete").click()

    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()
    got = await storefront.shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert got.status == checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE
    assert psp.count("charges") == charges_before + 1
    await storefront.shop.assert_books_balance()


async def test_a_failed_authentication_is_told_and_another_card_pays(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    session = await new_session(storefront)
    page = await browser.new_page()
    await page.goto(session.url)
    await type_card(page, cards.CARD_AUTHENTICATION_REQUIRED)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{psp.url}/authenticate/auth_*")
    await page.get_by_role("button", name="Fail").click()

    # back on the page, the intent named in its query as Stripe's redirect names it
    await page.wait_for_url(f"{session.url}?payment_intent=*&redirect_status=failed")
    await expect(page.locator("#pay-error")).to_have_text("The card's authentication failed.")
    await page.screenshot(path=screenshot_path("checkout-3ds-failed"), full_page=True)
    intent = await storefront.shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_REQUIRES_PAYMENT_METHOD
    assert intent.last_payment_error.code == "PAYMENT_INTENT_AUTHENTICATION_FAILURE"

    await type_card(page, good_card())
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()
    await storefront.shop.assert_books_balance()
