"""The hosted payment page in Chromium: paid with 4242 4242 4242 4242 from the keyboard and
sent to the merchant's success page; a decline shown inline and retried with another card; an
expired session that cannot be paid; a second tab that sees the payment complete. After each,
no card number is in the page's HTML or in any log record of the server and the edge (both run
in this process: caplog holds their records)."""

from __future__ import annotations

import logging
import time

import pytest
from paycore.tools.psp import cards
from paycore.v1 import checkout_pb2, payment_pb2
from playwright.async_api import Browser, Page, expect

from tests.payment.shop import good_card
from tests.secrecy import assert_nowhere, log_texts
from tests.web.conftest import Storefront, screenshot_path

VISA = "4242424242424242"
pytestmark = pytest.mark.timeout(120)


async def new_session(storefront: Storefront, **fields: object) -> checkout_pb2.CheckoutSession:
    values: dict[str, object] = {
        "currency": "usd",
        "line_items": [
            checkout_pb2.CheckoutLineItemParams(name="Origami paper, 100 sheets", unit_amount=1250),
            checkout_pb2.CheckoutLineItemParams(name="Bone folder", unit_amount=800, quantity=2),
        ],
        "customer_email": "buyer@example.com",
        "success_url": f"{storefront.site_url}/thanks?session={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{storefront.site_url}/cart",
    }
    values.update(fields)
    session: checkout_pb2.CheckoutSession = (
        await storefront.shop.client.checkout.CreateCheckoutSession(
            checkout_pb2.CreateCheckoutSessionRequest(**values)  # type: ignore[arg-type]
        )
    )
    return session


async def type_card(page: Page, number: str, expiry: str = "12/34", cvc: str = "123") -> None:
    """As a buyer with a keyboard: the number field, Tab, the expiry, Tab, the CVC."""
    await page.locator("#card-number").focus()
    await page.keyboard.type(number)
    await page.keyboard.press("Tab")
    await page.keyboard.type(expiry)
    await page.keyboard.press("Tab")
    await page.keyboard.type(cvc)


async def test_a_checkout_paid_with_4242_reaches_the_success_page_once(
    storefront: Storefront, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = await new_session(storefront)
    secret = session.url.rsplit("/", 1)[1]
    assert session.url == f"{storefront.edge_url}/c/pay/{session.id}/{secret}"
    context = await browser.new_context()
    page = await context.new_page()
    loaded = await page.goto(session.url)
    assert loaded is not None and loaded.status == 200
    policy = loaded.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    await expect(page.get_by_test_id("total")).to_have_text("28.50 USD")
    assert await page.locator("script:not([src])").count() == 0  # no inline script
    scripts = await page.locator("script[src]").evaluate_all("all => all.map(s => s.src)")
    assert scripts == [f"{storefront.edge_url}/static/checkout.js"]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    await type_card(page, "4242 4242 4242 4242")
    await page.screenshot(path=screenshot_path("checkout-form"), full_page=True)
    await page.keyboard.press("Enter")

    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await expect(page.get_by_role("heading")).to_have_text("Thank you for your order")
    await page.screenshot(path=screenshot_path("checkout-success"), full_page=True)
    # The card went to paycore's tokenization route and nowhere else.
    posts = [request for request in requests if request.startswith("POST")]
    assert posts == [
        f"POST {storefront.edge_url}/v1/payment_methods",
        f"POST {storefront.edge_url}/v1/payment_intents/{session.payment_intent}/confirm",
    ]

    got = await storefront.shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert got.status == checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE
    # A second tab sees it paid: no form to pay again.
    second = await context.new_page()
    await second.goto(session.url)
    await expect(second.locator("#state")).to_contain_text("This payment is complete")
    assert await second.locator("#pay").count() == 0
    await second.screenshot(path=screenshot_path("checkout-paid-second-tab"), full_page=True)

    sources = [await page.content(), await second.content()]
    await context.close()
    assert_nowhere([VISA], [], sources, "the page source")
    assert_nowhere([VISA], [], log_texts(caplog.records), "a log record")
    await storefront.shop.assert_books_balance()


async def test_a_declined_card_shows_its_message_and_another_card_pays(
    storefront: Storefront, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = await new_session(storefront)
    page = await browser.new_page()
    await page.goto(session.url)
    await type_card(page, cards.CARD_DECLINED)
    await page.get_by_role("button", name="Pay 28.50 USD").click()
    error = page.locator("#pay-error")
    await expect(error).to_have_text("Your card was declined.")
    assert await page.locator("#card-number").input_value() == ""  # the number left the page
    await page.screenshot(path=screenshot_path("checkout-declined"), full_page=True)
    declined_source = await page.content()
    intent = await storefront.shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.last_payment_error.decline_code == "generic_decline"

    other = good_card()
    await type_card(page, other)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()
    got = await storefront.shop.client.checkout.GetCheckoutSession(
        checkout_pb2.GetCheckoutSessionRequest(id=session.id)
    )
    assert got.status == checkout_pb2.CHECKOUT_SESSION_STATUS_COMPLETE
    numbers = [cards.CARD_DECLINED, other]
    assert_nowhere(numbers, [], [declined_source], "the page source")
    assert_nowhere(numbers, [], log_texts(caplog.records), "a log record")
    await storefront.shop.assert_books_balance()


async def test_an_expired_session_cannot_be_paid(storefront: Storefront, browser: Browser) -> None:
    expired = await new_session(storefront)
    await storefront.shop.client.checkout.ExpireCheckoutSession(
        checkout_pb2.ExpireCheckoutSessionRequest(id=expired.id)
    )
    page = await browser.new_page()
    await page.goto(expired.url)
    await expect(page.locator("#state")).to_contain_text("This payment page has expired")
    assert await page.locator("#pay").count() == 0
    await page.screenshot(path=screenshot_path("checkout-expired"), full_page=True)

    # A page opened before its expiry: the sweep expires it meanwhile, paying it fails, and
    # the page then says it has expired.
    soon = int(time.time()) + 31 * 60
    session = await new_session(storefront, expires_at=soon)
    await page.goto(session.url)
    await expect(page.locator("#pay")).to_be_visible()
    assert await storefront.sweep(now=soon + 1) >= 1
    await type_card(page, good_card())
    await page.keyboard.press("Enter")
    await expect(page.locator("#state")).to_contain_text("This payment page has expired")
    intent = await storefront.shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_CANCELED
    await page.close()
    await storefront.shop.assert_books_balance()


async def test_an_unknown_session_is_a_404_page(storefront: Storefront, browser: Browser) -> None:
    """So is a session's page asked for by its (guessable) id alone or with a wrong secret: the
    page opens only at the session's `url`, and nothing tells a wrong secret from no session."""
    session = await new_session(storefront)
    secret = session.url.rsplit("/", 1)[1]
    page = await browser.new_page()
    pages = {}
    for path in (
        "cs_0000000000000000000000",
        f"cs_0000000000000000000000/{secret}",
        session.id,
        f"{session.id}/{secret[::-1]}",
    ):
        missing = await page.goto(f"{storefront.edge_url}/c/pay/{path}")
        assert missing is not None and missing.status == 404, path
        await expect(page.get_by_role("heading")).to_have_text("This payment page does not exist")
        assert await page.locator("#pay").count() == 0
        pages[path] = await page.content()
    assert len(set(pages.values())) == 1
    assert session.payment_intent not in pages[session.id]
    await page.close()


async def test_card_mistakes_are_told_in_the_buyers_words_at_the_field_to_fix(
    storefront: Storefront, browser: Browser
) -> None:
    """A mistyped number, a month 13, a missing CVC: said in words a buyer knows (not the API's
    `card.number ... (Luhn)`), with the field to fix focused, what was right left typed, and
    nothing sent or charged; a year paycore refuses likewise. Then the corrected card pays."""
    session = await new_session(storefront)
    page = await browser.new_page()
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    await page.goto(session.url)
    error = page.locator("#pay-error")
    number, expiry, cvc = (
        page.locator("#card-number"),
        page.locator("#card-expiry"),
        page.locator("#card-cvc"),
    )

    await type_card(page, "4242 4242 4242 4241")  # the check digit is wrong
    await page.keyboard.press("Enter")
    await expect(error).to_have_text("Your card number is invalid.")
    await expect(number).to_be_focused()

    await number.fill(VISA)
    await expiry.fill("13/34")
    await cvc.fill("")
    await page.keyboard.press("Enter")
    await expect(error).to_have_text("Your card's expiration date is invalid.")
    await expect(expiry).to_be_focused()
    assert await number.input_value() == "4242 4242 4242 4242"

    await expiry.fill("12/34")
    await page.keyboard.press("Enter")
    await expect(error).to_have_text("Enter your card's security code.")
    await expect(cvc).to_be_focused()
    await page.screenshot(path=screenshot_path("checkout-card-mistake"), full_page=True)
    assert posts == []  # told on the page: nothing was sent

    # A year past what paycore accepts is refused by the tokenization route: said the same way.
    await expiry.fill("12/2130")
    await cvc.fill("123")
    await page.keyboard.press("Enter")
    await expect(error).to_have_text("Your card's expiration year is invalid.")
    await expect(expiry).to_be_focused()
    assert await number.input_value() == "4242 4242 4242 4242"

    await expiry.fill("12/34")
    await cvc.fill("123")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{storefront.site_url}/thanks?session={session.id}")
    await page.close()
    intent = await storefront.shop.client.payments.GetPaymentIntent(
        payment_pb2.GetPaymentIntentRequest(id=session.payment_intent)
    )
    assert intent.status == payment_pb2.PAYMENT_INTENT_STATUS_SUCCEEDED
