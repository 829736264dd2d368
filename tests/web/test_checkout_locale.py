"""The hosted payment page in the buyer's language, as Stripe's Checkout: the session's
`locale` (a regional one, `fr-CA`, `es-419`, by its language), or with `auto` or none the
browser's (its Accept-Language); a language the page has no text for is English. Labels,
buttons, the page's own checks and the card's decline are told in it, and the amount is
written as that language writes numbers."""

from __future__ import annotations

import pytest
from paycore.tools.psp import cards
from paycore.v1 import checkout_pb2
from playwright.async_api import Browser, expect

from tests.helpers import PspSimulator
from tests.payment.shop import good_card
from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_checkout_page import new_session, type_card

pytestmark = pytest.mark.timeout(120)


async def test_a_french_session_is_paid_on_a_french_page(
    storefront: Storefront, browser: Browser
) -> None:
    session = await new_session(
        storefront,
        locale="fr",
        line_items=[checkout_pb2.CheckoutLineItemParams(name="Lampe", unit_amount=123456)],
    )
    page = await browser.new_page()
    await page.goto(session.url)
    assert await page.locator("html").get_attribute("lang") == "fr"
    await expect(page.get_by_role("heading", name="Payer par carte")).to_be_visible()
    await expect(page.get_by_label("Numéro de carte")).to_be_visible()
    await expect(page.get_by_test_id("total")).to_have_text("1\u202f234,56 USD")
    button = page.get_by_role("button", name="Payer 1\u202f234,56 USD")
    await expect(button).to_be_visible()
    await expect(page.get_by_role("link", name="Annuler et revenir à Paper Cranes")).to_be_visible()

    await type_card(page, "4242 4242 4242 4241")  # a mistyped number: the page's own check
    await button.click()
    await expect(page.locator("#pay-error")).to_have_text(
        "Le numéro de votre carte n'est pas valide."
    )
    await page.locator("#card-number").fill("")
    await type_card(page, cards.CARD_DECLINED)
    await button.click()
    await expect(page.locator("#pay-error")).to_have_text("Votre carte a été refusée.")
    await page.screenshot(path=screenshot_path("checkout-declined-fr"), full_page=True)
    await type_card(page, good_card())
    await button.click()
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.goto(session.url)
    await expect(page.locator("#state")).to_contain_text("Ce paiement est terminé.")
    await page.close()
    await storefront.shop.assert_books_balance()


@pytest.mark.parametrize(
    ("locale", "browser_locale", "lang", "heading", "total"),
    [
        ("", "de-DE", "de", "Mit Karte bezahlen", "28,50 USD"),  # none given: the browser's
        ("auto", "ja-JP", "ja", "カードで支払う", "28.50 USD"),
        ("es-419", "en-US", "es-419", "Pagar con tarjeta", "28,50 USD"),  # by its language
        ("pt-BR", "de-DE", "pt-BR", "Pagar com cartão", "28,50 USD"),
        ("nl", "fr-FR", "en", "Pay with card", "28.50 USD"),  # no Dutch text: English
        ("", "nl-NL", "en", "Pay with card", "28.50 USD"),
    ],
)
async def test_the_pages_language_is_the_sessions_locale_else_the_browsers(
    storefront: Storefront,
    browser: Browser,
    locale: str,
    browser_locale: str,
    lang: str,
    heading: str,
    total: str,
) -> None:
    session = await new_session(storefront, locale=locale)
    context = await browser.new_context(locale=browser_locale)
    page = await context.new_page()
    await page.goto(session.url)
    assert await page.locator("html").get_attribute("lang") == lang
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()
    await expect(page.get_by_test_id("total")).to_have_text(total)
    await context.close()


async def test_a_failed_authentication_is_told_in_the_pages_language(
    storefront: Storefront, browser: Browser, psp: PspSimulator
) -> None:
    """Back from the bank's page, the decline is rendered by the server (GetCheckoutPage's
    last_error_code): in the page's language too; reloaded, still so."""
    session = await new_session(storefront, locale="de")
    page = await browser.new_page()
    await page.goto(session.url)
    await type_card(page, cards.CARD_AUTHENTICATION_REQUIRED)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{psp.url}/authenticate/auth_*")
    await page.get_by_role("button", name="Fail").click()
    await page.wait_for_url(f"{session.url}?payment_intent=*&redirect_status=failed")
    told = "Die Authentifizierung Ihrer Karte ist fehlgeschlagen."
    await expect(page.locator("#pay-error")).to_have_text(told)
    await page.reload()
    await expect(page.locator("#pay-error")).to_have_text(told)
    await type_card(page, cards.CARD_INSUFFICIENT_FUNDS)
    await page.keyboard.press("Enter")
    await expect(page.locator("#pay-error")).to_have_text(
        "Ihre Karte ist nicht ausreichend gedeckt."
    )
    await page.reload()
    await expect(page.locator("#pay-error")).to_have_text(
        "Ihre Karte ist nicht ausreichend gedeckt."
    )
    await page.close()
