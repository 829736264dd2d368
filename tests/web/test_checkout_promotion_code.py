"""The hosted page of a session of `allow_promotion_codes` in Chromium: a code the merchant
does not have is told beside the field; the merchant's code, typed in any case, discounts the
total the page shows and the card is charged that."""

from __future__ import annotations

import pytest
from paycore.v1 import checkout_pb2, payment_pb2, subscription_pb2
from playwright.async_api import Browser, expect

from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_checkout_page import new_session, type_card

pytestmark = pytest.mark.timeout(120)


async def test_a_promotion_code_typed_on_the_page_discounts_what_the_card_pays(
    storefront: Storefront, browser: Browser
) -> None:
    client = storefront.shop.client
    coupon = await client.subscriptions.CreateCoupon(
        subscription_pb2.CreateCouponRequest(percent_off="10", duration="once")
    )
    await client.subscriptions.CreatePromotionCode(
        subscription_pb2.CreatePromotionCodeRequest(coupon=coupon.id, code="WELCOME10")
    )
    session = await new_session(storefront, allow_promotion_codes=True)
    page = await browser.new_page()
    await page.goto(session.url)
    await expect(page.get_by_test_id("total")).to_have_text("28.50 USD")
    await page.get_by_label("Promotion code").fill("NOPE")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#promotion-error")).to_have_text("This code is invalid.")
    await expect(page.get_by_test_id("total")).to_have_text("28.50 USD")

    await page.get_by_label("Promotion code").fill("welcome10")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.get_by_test_id("total")).to_have_text("25.65 USD")
    await expect(page.get_by_test_id("discount")).to_contain_text("2.85 USD")
    assert await page.get_by_label("Promotion code").count() == 0
    await page.screenshot(path=screenshot_path("checkout-promotion-code"), full_page=True)
    await type_card(page, "4242 4242 4242 4242")
    await page.get_by_role("button", name="Pay 25.65 USD").click()
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()

    intent = await client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert (intent.status, intent.amount_received) == (
        payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED,
        2565,
    )
    got = await client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert (got.amount_total, got.total_details.amount_discount) == (2565, 285)
    await storefront.shop.assert_books_balance()
