"""What the browser itself reports of the hosted payment page and the dashboard: no error in
its console (a missing favicon is one, on every page), and on a phone's screen a line item
whose name has no space to break at stays inside the page, which never scrolls sideways."""

from __future__ import annotations

import pytest
from paycore.v1 import checkout_pb2
from playwright.async_api import Browser, ConsoleMessage, expect

from tests.web.conftest import Storefront, screenshot_path
from tests.web.test_checkout_page import new_session
from tests.web.test_dashboard import sign_in

pytestmark = pytest.mark.timeout(120)


async def test_the_pages_log_no_error_in_the_browsers_console(
    storefront: Storefront, browser: Browser
) -> None:
    session = await new_session(storefront)
    context = await browser.new_context()
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} {message.location.get('url', '')}")

    context.on("console", console)
    page = await context.new_page()
    await page.goto(session.url)
    await expect(page.locator("#pay")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    dashboard = await sign_in(context, storefront, storefront.secret_key)
    await expect(dashboard).to_have_url(f"{storefront.edge_url}/dashboard/payments")
    await dashboard.wait_for_load_state("networkidle")
    await context.close()
    assert errors == []


async def test_a_long_unbroken_item_name_fits_a_phones_screen(
    storefront: Storefront, browser: Browser
) -> None:
    name = "Supercalifragilisticexpialidocious_origami_paper_SKU-0001234567"
    session = await new_session(
        storefront,
        line_items=[checkout_pb2.CheckoutLineItemParams(name=name, unit_amount=1250)],
    )
    context = await browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(session.url)
    await expect(page.get_by_test_id("total")).to_have_text("12.50 USD")
    width = await page.evaluate("document.documentElement.scrollWidth")
    await page.screenshot(path=screenshot_path("checkout-phone-long-name"), full_page=True)
    await context.close()
    assert width <= 375
